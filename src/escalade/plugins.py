"""Plugin registry: scorers (and, later, providers and stores) register through entry points.

Built-ins are declared in escalade's own ``pyproject.toml`` under the same groups, so third-party
plugins and built-ins are found the same way::

    [project.entry-points."escalade.scorers"]
    my-scorer = "my_package.scoring:make_scorer"   # a factory: (ScorerSetup) -> Scorer

>>> "consensus" in available("escalade.scorers")
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from escalade.datasets import BenchmarkRow
from escalade.exceptions import ConfigError
from escalade.quality.scorers import ConsensusScorer, Scorer
from escalade.replay import OfflineOracleScorer

__all__ = ["SCORERS", "ScorerSetup", "available", "consensus_scorer", "load_plugin", "make_scorer", "oracle_scorer"]

#: Entry-point group of scorer factories.
SCORERS = "escalade.scorers"


@dataclass(frozen=True, kw_only=True)
class ScorerSetup:
    """What a scorer factory may use to build its scorer."""

    #: Recorded rows, when running a replay (offline scorers need them; run-time scorers must not).
    rows: Sequence[BenchmarkRow] = field(default_factory=tuple)


def available(group: str) -> list[str]:
    """Names registered in ``group``, sorted."""
    return sorted({ep.name for ep in entry_points(group=group)})


def load_plugin(group: str, name: str) -> Callable[..., Any]:
    """The object registered as ``name`` in ``group``."""
    found = [ep for ep in entry_points(group=group) if ep.name == name]
    if not found:
        raise ConfigError(f"unknown {group.rsplit('.', 1)[-1][:-1]} {name!r}; available: {', '.join(available(group))}")
    loaded = found[0].load()
    if not callable(loaded):
        raise ConfigError(f"entry point {name!r} in {group} is not callable")
    return loaded  # type: ignore[no-any-return]


def make_scorer(name: str, setup: ScorerSetup) -> Scorer:
    """Build the scorer registered as ``name``."""
    scorer = load_plugin(SCORERS, name)(setup)
    if not isinstance(scorer, Scorer):
        raise ConfigError(f"scorer factory {name!r} did not return a scorer (an object with score())")
    return scorer


def consensus_scorer(setup: ScorerSetup) -> Scorer:
    """Built-in ``consensus``: the run-time default."""
    return ConsensusScorer()


def oracle_scorer(setup: ScorerSetup) -> Scorer:
    """Built-in ``oracle``: OFFLINE, reads recorded grades (a ceiling, not a policy)."""
    if not setup.rows:
        raise ConfigError("the oracle scorer needs recorded rows: it only works on replays", field="scorer")
    return OfflineOracleScorer(setup.rows)
