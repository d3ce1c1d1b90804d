"""Plugins: built-in scorers are found through the same entry points third parties use."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from escalade.exceptions import ConfigError
from escalade.plugins import OFFLINE_SCORERS, SCORERS, ScorerSetup, available, make_scorer
from escalade.quality import ConsensusScorer
from escalade.replay import OfflineOracleScorer, load_dataset
from tests.conftest import MakeDataset


def test_builtins_are_registered() -> None:
    """consensus is a run-time scorer; oracle is registered apart, as offline."""
    assert "consensus" in available(SCORERS)
    assert available(OFFLINE_SCORERS) == ["oracle"]
    built = make_scorer("consensus", ScorerSetup())
    assert isinstance(built.scorer, ConsensusScorer)
    assert not built.offline


def test_oracle_needs_rows_and_is_marked_offline(make_dataset: MakeDataset) -> None:
    """The offline oracle only works on replays and is flagged as offline."""
    with pytest.raises(ConfigError, match="only works on replays"):
        make_scorer("oracle", ScorerSetup())
    rows = load_dataset(make_dataset()).rows("test")
    built = make_scorer("oracle", ScorerSetup(), rows=rows)
    assert isinstance(built.scorer, OfflineOracleScorer)
    assert built.offline


def _only(fake: EntryPoint, monkeypatch: pytest.MonkeyPatch) -> None:
    def entry_points(group: str) -> list[EntryPoint]:
        return [fake] if group == fake.group else []

    monkeypatch.setattr("escalade.plugins.entry_points", entry_points)


def test_unknown_scorer_lists_what_exists() -> None:
    """An unknown name lists run-time and offline scorers."""
    with pytest.raises(
        ConfigError,
        match=r"unknown scorer 'nope'; available: consensus, self-consistency, verifier, oracle \(offline\)",
    ):
        make_scorer("nope", ScorerSetup())


def test_factory_returning_a_non_scorer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A factory that returns something without score() is rejected."""
    _only(EntryPoint(name="broken", value="builtins:str", group=SCORERS), monkeypatch)
    with pytest.raises(ConfigError, match="did not return a scorer"):
        make_scorer("broken", ScorerSetup())


def test_plugin_that_fails_to_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin whose module cannot be imported is a clear ConfigError."""
    _only(EntryPoint(name="ghost", value="no_such_module_xyz:factory", group=SCORERS), monkeypatch)
    with pytest.raises(ConfigError, match=r"plugin 'ghost' \(no_such_module_xyz:factory\) failed to load"):
        make_scorer("ghost", ScorerSetup())
