"""``escalade run`` records trigger outcomes from its own verdicts (never with an offline scorer)."""

from __future__ import annotations

from escalade.routing import NO_TRIGGER
from escalade.store import SqlStore
from tests.cli.helpers import invoke
from tests.conftest import MakeDataset
from tests.store.test_trigger_recorder import ROWS


def test_escalade_run_records_trigger_outcomes(make_dataset: MakeDataset, db_url: str) -> None:
    """``escalade run`` records trigger outcomes from its own verdicts, not with an offline scorer."""
    dataset = str(make_dataset(ROWS))
    code, _, _ = invoke("run", dataset, "--db", db_url, "--yes", "--scorer", "oracle")
    assert code == 0
    with SqlStore(db_url) as store:
        assert store.trigger_stats() == {}
    code, _, _ = invoke("run", dataset, "--db", db_url, "--yes")
    assert code == 0
    with SqlStore(db_url) as store:
        stats = store.trigger_stats()
    assert {"authentication", NO_TRIGGER} <= set(stats)
    assert sum(s.firings for s in stats.values()) >= len(ROWS)
