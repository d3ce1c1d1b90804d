"""Plugins: built-in scorers are found through the same entry points third parties use."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from escalade.datasets import load_dataset
from escalade.exceptions import ConfigError
from escalade.plugins import SCORERS, ScorerSetup, available, make_scorer
from escalade.quality.scorers import ConsensusScorer
from escalade.replay import OfflineOracleScorer
from tests.conftest import MakeDataset


def test_builtins_are_registered() -> None:
    """consensus and oracle come from escalade's own entry points."""
    assert {"consensus", "oracle"} <= set(available(SCORERS))
    assert isinstance(make_scorer("consensus", ScorerSetup()), ConsensusScorer)


def test_oracle_needs_rows(make_dataset: MakeDataset) -> None:
    """The offline oracle only works on replays."""
    with pytest.raises(ConfigError, match="only works on replays"):
        make_scorer("oracle", ScorerSetup())
    rows = load_dataset(make_dataset()).rows("test")
    assert isinstance(make_scorer("oracle", ScorerSetup(rows=rows)), OfflineOracleScorer)


def test_unknown_and_broken_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown name lists what is available; a factory returning a non-scorer is rejected."""
    with pytest.raises(ConfigError, match="unknown scorer 'nope'; available: "):
        make_scorer("nope", ScorerSetup())
    fake = EntryPoint(name="broken", value="builtins:str", group=SCORERS)

    def entry_points(group: str) -> list[EntryPoint]:
        return [fake] if group == SCORERS else []

    monkeypatch.setattr("escalade.plugins.entry_points", entry_points)
    with pytest.raises(ConfigError, match="did not return a scorer"):
        make_scorer("broken", ScorerSetup())
