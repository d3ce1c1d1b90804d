"""Plugin registry: scorers (and, later, providers and stores) register through entry points.

Built-ins are declared in escalade's own ``pyproject.toml`` under the same groups, so third-party
plugins and built-ins are found the same way::

    [project.entry-points."escalade.scorers"]
    my-scorer = "my_package.scoring:make_scorer"      # (ScorerSetup) -> Scorer

Run-time scorers never receive recorded grades. Scorers that read them (ceilings, not policies)
live in a separate group, get the recorded rows, and their runs are labelled offline::

    [project.entry-points."escalade.offline_scorers"]
    oracle = "escalade.plugins:oracle_scorer"         # (ScorerSetup, rows) -> Scorer

>>> "consensus" in available(SCORERS) and "oracle" in available(OFFLINE_SCORERS)
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from escalade.exceptions import ConfigError
from escalade.quality import ConsensusScorer, Scorer, SelfConsistencyScorer
from escalade.replay import BenchmarkRow, OfflineOracleScorer

__all__ = [
    "OFFLINE_SCORERS",
    "SCORERS",
    "BuiltScorer",
    "ScorerSetup",
    "available",
    "consensus_scorer",
    "load_plugin",
    "make_scorer",
    "oracle_scorer",
    "self_consistency_scorer",
    "verifier_scorer",
]

#: Entry-point group of run-time scorer factories: ``(ScorerSetup) -> Scorer``.
SCORERS = "escalade.scorers"
#: Entry-point group of offline scorer factories, which read grades: ``(ScorerSetup, rows) -> Scorer``.
OFFLINE_SCORERS = "escalade.offline_scorers"


@dataclass(frozen=True, kw_only=True)
class ScorerSetup:
    """Run-time facts a scorer factory may use."""

    #: Kind of task the items are (``multiple-choice``, ``code``, ...).
    task_kind: str = "short-answer"
    #: The scorer's options as text, e.g. ``{"k": "5"}`` (``escalade run --scorer-option k=5``).
    options: Mapping[str, str] = field(default_factory=dict)

    def option(self, name: str, default: str | None = None) -> str:
        """Option ``name``; a missing option without a default is a :class:`ConfigError`."""
        value = self.options.get(name, default)
        if value is None:
            raise ConfigError(f"this scorer needs the option {name}=...", field=f"scorer option {name}")
        return value

    def number(self, name: str, default: float, kind: Callable[[str], float] = float) -> float:
        """Option ``name`` read as a number."""
        text = self.options.get(name)
        if text is None:
            return default
        try:
            return kind(text)
        except ValueError:
            raise ConfigError(f"must be a number, got {text[:40]!r}", field=f"scorer option {name}") from None


@dataclass(frozen=True)
class BuiltScorer:
    """A scorer and whether it is offline (reads recorded grades)."""

    scorer: Scorer
    offline: bool


def available(group: str) -> list[str]:
    """Names registered in ``group``, sorted."""
    return sorted({ep.name for ep in entry_points(group=group)})


def load_plugin(group: str, name: str) -> Callable[..., Any]:
    """The callable registered as ``name`` in ``group``."""
    found = [ep for ep in entry_points(group=group) if ep.name == name]
    if not found:
        raise ConfigError(f"nothing named {name!r} in {group}; available: {', '.join(available(group))}")
    try:
        loaded = found[0].load()
    except Exception as exc:
        raise ConfigError(f"plugin {name!r} ({found[0].value}) failed to load: {type(exc).__name__}: {exc}") from exc
    if not callable(loaded):
        raise ConfigError(f"plugin {name!r} in {group} is not callable")
    return loaded  # type: ignore[no-any-return]


def make_scorer(name: str, setup: ScorerSetup, *, rows: Sequence[BenchmarkRow] = ()) -> BuiltScorer:
    """Build scorer ``name``: run-time scorers get only ``setup``; offline ones also get ``rows``."""
    if name in available(SCORERS):
        built = BuiltScorer(load_plugin(SCORERS, name)(setup), offline=False)
    elif name in available(OFFLINE_SCORERS):
        if not rows:
            raise ConfigError(f"scorer {name!r} reads recorded grades, so it only works on replays", field="scorer")
        built = BuiltScorer(load_plugin(OFFLINE_SCORERS, name)(setup, rows), offline=True)
    else:
        names = ", ".join(available(SCORERS) + [f"{n} (offline)" for n in available(OFFLINE_SCORERS)])
        raise ConfigError(f"unknown scorer {name!r}; available: {names}", field="scorer")
    if not isinstance(built.scorer, Scorer):
        raise ConfigError(f"scorer factory {name!r} did not return a scorer (an object with score())")
    return built


def consensus_scorer(setup: ScorerSetup) -> Scorer:
    """Built-in ``consensus``: the run-time default."""
    return ConsensusScorer()


def self_consistency_scorer(setup: ScorerSetup) -> Scorer:
    """Built-in ``self-consistency``: agreement of ``k`` samples of one model (options ``k``, ``min_agreement``)."""
    unknown = sorted(set(setup.options) - {"k", "min_agreement"})
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)}; it takes k and min_agreement", field="scorer")
    k = int(setup.number("k", 5, int))
    return SelfConsistencyScorer(k=k, min_agreement=setup.number("min_agreement", 0.6))


def verifier_scorer(setup: ScorerSetup) -> Scorer:
    """Built-in ``verifier``: a learned verifier artifact (option ``artifact=FILE``, optional ``threshold``)."""
    from escalade.routing.learned import VerifierScorer, load_verifier  # noqa: PLC0415  (scikit-learn: loaded on use)

    unknown = sorted(set(setup.options) - {"artifact", "threshold"})
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)}; it takes artifact and threshold", field="scorer")
    artifact = load_verifier(Path(setup.option("artifact")))
    threshold = setup.number("threshold", artifact.threshold)
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"must be between 0 and 1, got {threshold}", field="scorer option threshold")
    return VerifierScorer(artifact.verifier, threshold)


def oracle_scorer(setup: ScorerSetup, rows: Sequence[BenchmarkRow]) -> Scorer:
    """Built-in offline ``oracle``: reads recorded grades (a ceiling, not a policy)."""
    return OfflineOracleScorer(rows)
