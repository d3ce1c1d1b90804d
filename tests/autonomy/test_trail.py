"""The tables checked against the audit trail, on the memory store: every edited, removed or added row is named.

The memory store's dictionaries stand for its tables here; the same edits made in SQL on SQLite and
PostgreSQL are in ``tests/store/test_autonomy.py``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from itertools import count

import pytest

from escalade.autonomy import (
    AUDIT_KEY_ENV,
    AuditDraft,
    EscalationEngine,
    Labelled,
    MemoryAutonomyStore,
    Outcome,
    verify_trail,
)
from tests.autonomy.factories import NOW, count_parses, decision_record

Tamper = Callable[[MemoryAutonomyStore], None]


@pytest.fixture(autouse=True)
def no_audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests choose their key; ``ESCALADE_AUDIT_KEY`` from the environment must not leak in."""
    monkeypatch.delenv(AUDIT_KEY_ENV, raising=False)


def flow(key: bytes | None = None) -> MemoryAutonomyStore:
    """Three decisions (entries 1-3), two outcomes (4, 5) and a calibration (6), with a ticking clock."""
    store = MemoryAutonomyStore(key=key)
    ticks = count()
    engine = EscalationEngine(store, rng=random.Random(0), clock=lambda: NOW + timedelta(seconds=next(ticks)))
    engine.evaluate({"id": "a", "description": "Fix a typo in the README", "affected_files": ["README.md"]})
    engine.evaluate({"id": "b", "description": "Deploy v2.3 to production"})
    engine.evaluate({"id": "c", "description": "Refactor the parser", "affected_systems": ["parser"]})
    engine.record_outcome("a", Outcome(success=True))
    engine.record_outcome("c", Outcome(success=False))
    engine.calibrate(alpha=0.2, delta=0.2, labelled=[Labelled("fix", 0.9, False)] * 30)
    return store


def flip_escalated(store: MemoryAutonomyStore) -> None:
    row = store._decisions[("default", "b")]
    store._decisions[("default", "b")] = replace(row, escalated=not row.escalated)


def change_outcome(store: MemoryAutonomyStore) -> None:
    row = store._decisions[("default", "c")]
    store._decisions[("default", "c")] = replace(row, outcome=Outcome(success=True))


def inflate_familiarity(store: MemoryAutonomyStore) -> None:
    store._areas[("default", "file:README.md")][0] += 50


def add_familiarity(store: MemoryAutonomyStore) -> None:
    store._areas[("default", "file:auth.py")] = [9, 0]


def drop_calibration(store: MemoryAutonomyStore) -> None:
    store._calibrations["default"].clear()


def add_decision_row(store: MemoryAutonomyStore) -> None:
    store._decisions[("default", "x")] = decision_record("x", audit_seq=1)


def test_verify_parses_each_entry_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chain and the rows are checked on one parse of each entry's body."""
    store = flow()
    bodies = [e.body for e in store.audit_entries()]
    parses = count_parses(monkeypatch)
    assert verify_trail(store, key=None).ok
    assert parses == bodies


@pytest.mark.parametrize(
    ("tamper", "seq", "field", "problem"),
    [
        (flip_escalated, 2, "escalated", "decision 'b' in workspace 'default': the table holds escalated = false"),
        (change_outcome, 5, "outcome", "the outcome of decision 'c' in workspace 'default': the table holds outcome"),
        (inflate_familiarity, 4, "successes", "the familiarity count of 'file:README.md' in workspace 'default'"),
        (add_familiarity, None, None, "the familiarity count of 'file:auth.py' in workspace 'default' is in the table"),
        (drop_calibration, 6, None, "audit entry 6 wrote calibration"),
        (add_decision_row, 1, None, "decision 'x' in workspace 'default' is in the table, but no audit entry wrote it"),
    ],
    ids=["escalated", "outcome", "familiarity", "familiarity-added", "calibration-dropped", "decision-added"],
)
def test_edited_rows_are_named(tamper: Tamper, seq: int | None, field: str | None, problem: str) -> None:
    """Each edit of what the readers use is reported at its entry, with the field that differs."""
    store = flow()
    assert verify_trail(store, key=None).ok
    tamper(store)
    report = verify_trail(store, key=None)
    assert (report.ok, report.cause, report.first_bad_seq, report.field) == (False, "tampered", seq, field)
    assert problem in report.problem


def test_intact_keyed_flow_counts_its_rows() -> None:
    """A keyed trail with its tables intact verifies with its key and counts every row compared."""
    report = verify_trail(flow(b"k"), key=b"k")
    assert (report.ok, report.keyed_from, report.rows) == (
        True,
        1,
        7,
    )  # 3 decisions, 2 outcomes, a calibration, an area
    assert report.describe().endswith("; 7 table rows match it")


def test_rows_written_before_entries_carried_them_are_counted_not_compared() -> None:
    """An entry without its row's fields (an older trail) vouches for the row's existence only, and says so."""
    store = MemoryAutonomyStore()
    entry = store.append_audit(AuditDraft(at=NOW, kind="decision", workspace="default", decision_id="old", payload={}))
    store._decisions[("default", "old")] = decision_record("old", audit_seq=entry.seq)
    report = verify_trail(store, key=None)
    assert (report.ok, report.rows, report.unchecked_rows) == (True, 1, 1)
    assert "1 written before rows were sealed could not be compared" in report.describe()


def test_a_chain_problem_is_reported_before_the_tables() -> None:
    """With the chain itself broken, that is what is reported (the tables are not compared)."""
    store = flow()
    flip_escalated(store)
    store._audit[0] = replace(store._audit[0], hash="0" * 64)
    report = verify_trail(store, key=None)
    assert (report.first_bad_seq, report.rows) == (1, None)
    assert report.describe().startswith("audit trail broken at entry 1")
