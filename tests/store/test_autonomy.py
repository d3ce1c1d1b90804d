"""The escalation engine's SQL store on SQLite and PostgreSQL: decisions, outcomes, learned state, audit trail.

Every test runs on both databases (the ``db_url`` fixture). The audit trail is tampered with directly
in the database, as someone with write access but no code would, and verification must name the
first bad entry; concurrent writers must neither fork the chain nor lose an offset update.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from itertools import count
from typing import Any, cast

import pytest
from sqlalchemy import Connection, Table, text, update

from escalade.autonomy import (
    AUDIT_KEY_ENV,
    GENESIS,
    AreaStats,
    AuditDraft,
    AuditHead,
    AutonomyStore,
    CalibrationRecord,
    ChainReport,
    DecisionContext,
    DecisionRecord,
    EscalationEngine,
    MemoryAutonomyStore,
    Outcome,
    TypeStats,
    canonical_json,
    key_id,
    verify_chain,
    verify_trail,
)
from escalade.exceptions import AuditKeyError, CalibrationNotFoundError, DecisionError, StoreError
from escalade.store import AutonomyCalibrationRow, SqlAutonomyStore, SqlStore
from tests.autonomy.factories import count_parses, decision_record, intact, verify_stored_chain

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CALIBRATIONS = cast(Table, AutonomyCalibrationRow.__table__)
PLUS_TWO = timezone(timedelta(hours=2))


@pytest.fixture(autouse=True)
def no_audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chains here are plain SHA-256: ``ESCALADE_AUDIT_KEY`` from the environment must not leak in."""
    monkeypatch.delenv(AUDIT_KEY_ENV, raising=False)


@pytest.fixture
def autonomy(store: SqlStore) -> SqlAutonomyStore:
    """The escalation store on a fresh, migrated database."""
    return SqlAutonomyStore(store.engine)


def record(decision_id: str, *, workspace: str = "w", **changes: Any) -> DecisionRecord:
    """A production deployment that proceeded; ``changes`` override any field."""
    values = {"type": "deployment", "environment": "production", "confidence": 0.8, "threshold": 0.7}
    return decision_record(decision_id, workspace=workspace, **{**values, "priority": "medium", "at": AT, **changes})


def draft(decision_id: str | None, *, workspace: str = "w", kind: str = "decision") -> AuditDraft:
    """An audit draft with a small payload."""
    return AuditDraft(at=AT, kind=kind, workspace=workspace, decision_id=decision_id, payload={"id": decision_id})


def add(store: AutonomyStore, decision_id: str, *, workspace: str = "w", **changes: Any) -> DecisionRecord:
    """Store a decision built by :func:`record` with its audit entry."""
    return store.add_decision(
        record(decision_id, workspace=workspace, **changes), draft(decision_id, workspace=workspace)
    )


def outcome(store: AutonomyStore, decision_id: str, result: Outcome, *, workspace: str = "w") -> DecisionRecord:
    """Attach an outcome with its audit entry."""
    audit = draft(decision_id, workspace=workspace, kind="outcome")
    return store.set_outcome(workspace, decision_id, result, AT + timedelta(hours=1), audit)


def test_migration_creates_the_genesis_head(db_url: str) -> None:
    """A freshly migrated database has the one head row at seq 0 with the genesis hash, and no entries."""
    with SqlStore(db_url) as store:
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, seq, hash FROM audit_head")).all()
            assert [tuple(r) for r in rows] == [(1, 0, "0" * 64)]
        autonomy = SqlAutonomyStore(store.engine)
        assert autonomy.audit_snapshot().head == AuditHead(0, GENESIS)
        assert autonomy.audit_entries() == []
        assert verify_stored_chain(autonomy) == ChainReport(ok=True, entries=0)


def test_decision_round_trips_every_field(autonomy: SqlAutonomyStore) -> None:
    """Every field comes back as stored: tuples as tuples, exact floats, times aware in UTC."""
    at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    full = record(
        "d-1",
        at=at,
        agent="agent-7",
        profile="strict",
        type="data",
        environment="staging",
        escalated=True,
        risk_accepted=True,
        confidence=0.1 + 0.2,
        threshold=2 / 3,
        priority="critical",
        rule_hits=("no-prod-deletes", "big-migration"),
        forced=True,
        recommendation="reject",
        affected_files=("src/a.py", "docs/ü.md"),
        affected_systems=("db",),
        record_count=10**12,
        estimated_cost=1234.5678,
        sampled=True,
    )
    stored = autonomy.add_decision(full, draft("d-1"))
    assert stored == replace(full, audit_seq=1)
    got = autonomy.get_decision("w", "d-1")
    assert got == stored
    assert got is not None
    assert isinstance(got.rule_hits, tuple)
    assert isinstance(got.affected_files, tuple)
    assert got.at.utcoffset() == timedelta(0)
    assert (got.confidence, got.threshold) == (0.1 + 0.2, 2 / 3)
    done_at = at + timedelta(minutes=5)
    result = Outcome(response="modify", response_time_s=12.5, note="changed the batch size")
    autonomy.set_outcome("w", "d-1", result, done_at, draft("d-1", kind="outcome"))
    later = autonomy.get_decision("w", "d-1")
    assert later is not None
    assert (later.outcome, later.outcome_at) == (result, done_at)
    assert later.outcome_at is not None
    assert later.outcome_at.utcoffset() == timedelta(0)
    assert autonomy.get_decision("w", "missing") is None
    assert autonomy.get_decision("other", "d-1") is None


def test_times_in_another_zone_keep_their_instant(autonomy: SqlAutonomyStore) -> None:
    """A decision and outcome time given at UTC+2 come back as the same instant, expressed in UTC."""
    at = datetime(2026, 3, 1, 14, 30, tzinfo=PLUS_TWO)  # 12:30 UTC
    add(autonomy, "d", at=at)
    done_at = datetime(2026, 3, 1, 15, 0, tzinfo=PLUS_TWO)
    autonomy.set_outcome("w", "d", Outcome(success=True), done_at, draft("d", kind="outcome"))
    got = autonomy.get_decision("w", "d")
    assert got is not None
    assert (got.at, got.outcome_at) == (datetime(2026, 3, 1, 12, 30, tzinfo=UTC), datetime(2026, 3, 1, 13, tzinfo=UTC))
    assert got.at.utcoffset() == timedelta(0)


def test_since_in_another_zone_selects_by_instant(autonomy: SqlAutonomyStore) -> None:
    """``decisions(since=...)`` compares instants, whatever zone ``since`` and the stored times are in."""
    add(autonomy, "early", at=AT)
    add(autonomy, "late", at=AT + timedelta(hours=1))
    since = (AT + timedelta(minutes=30)).astimezone(PLUS_TWO)
    assert [r.decision_id for r in autonomy.decisions("w", since=since)] == ["late"]


def test_decision_defaults_round_trip(autonomy: SqlAutonomyStore) -> None:
    """Empty tuples, no agent, no environment and no outcome come back as such."""
    stored = add(autonomy, "d", environment=None)
    got = autonomy.get_decision("w", "d")
    assert got == stored
    assert got is not None
    assert (got.agent, got.environment, got.rule_hits, got.affected_files, got.outcome) == (None, None, (), (), None)


def test_duplicate_decision_stores_nothing(autonomy: SqlAutonomyStore) -> None:
    """A decision id used twice in a workspace is refused; the first record and the trail stay as they were."""
    first = add(autonomy, "d1")
    head, entries = autonomy.audit_snapshot().head, autonomy.audit_entries()
    with pytest.raises(DecisionError, match="already decided in this workspace") as refused:
        add(autonomy, "d1", type="fix", confidence=0.1)
    assert (refused.value.decision_id, refused.value.field) == ("d1", "id")
    assert autonomy.audit_snapshot().head == head
    assert autonomy.audit_entries() == entries
    assert autonomy.decision_count("w") == 1
    assert autonomy.get_decision("w", "d1") == first
    elsewhere = add(autonomy, "d1", workspace="other")
    assert elsewhere.audit_seq == 2
    assert autonomy.decision_count("other") == 1
    assert verify_stored_chain(autonomy) == intact(2, autonomy.audit_snapshot().head)


@pytest.mark.parametrize(
    ("escalated", "result", "label", "areas"),
    [
        pytest.param(False, Outcome(success=True), False, AreaStats(1, 0), id="proceeded-fine"),
        pytest.param(False, Outcome(success=False), True, AreaStats(0, 1), id="proceeded-failed"),
        pytest.param(True, Outcome(response="reject"), True, AreaStats(0, 1), id="escalated-rejected"),
        pytest.param(True, Outcome(response="approve"), False, AreaStats(1, 0), id="escalated-approved"),
        pytest.param(False, Outcome(should_have_escalated=True, success=True), True, AreaStats(0, 1), id="judged"),
        pytest.param(True, Outcome(response="defer"), None, None, id="unlabelled"),
    ],
)
def test_outcome_labels_and_counts_areas(
    autonomy: SqlAutonomyStore, escalated: bool, result: Outcome, label: bool | None, areas: AreaStats | None
) -> None:
    """The outcome is stored with its label, and every touched file and system counts it once."""
    add(autonomy, "d", escalated=escalated, affected_files=("a.py", "b.py"), affected_systems=("db",))
    updated = outcome(autonomy, "d", result)
    assert updated.label() is label
    assert autonomy.get_decision("w", "d") == updated
    expected = {} if areas is None else dict.fromkeys(("file:a.py", "file:b.py", "system:db"), areas)
    assert autonomy.area_stats("w", ["file:a.py", "file:b.py", "system:db", "file:unseen.py"]) == expected
    assert autonomy.area_stats("other", ["file:a.py"]) == {}
    assert [e.kind for e in autonomy.audit_entries()] == ["decision", "outcome"]


def test_area_counts_accumulate(autonomy: SqlAutonomyStore) -> None:
    """Successes and failures of several decisions add up per area; an empty query asks nothing."""
    for i, success in enumerate([True, True, False]):
        add(autonomy, f"d{i}", affected_files=("shared.py",), affected_systems=(f"sys{i}",))
        outcome(autonomy, f"d{i}", Outcome(success=success))
    found = autonomy.area_stats("w", ["file:shared.py", "system:sys2"])
    assert found == {"file:shared.py": AreaStats(2, 1), "system:sys2": AreaStats(0, 1)}
    assert autonomy.area_stats("w", []) == {}


@pytest.mark.parametrize("case", ["unknown", "second"])
def test_refused_outcome_appends_nothing(autonomy: SqlAutonomyStore, case: str) -> None:
    """An outcome for an unknown decision, or a second one, is refused and leaves the trail as it was."""
    add(autonomy, "d", affected_files=("a.py",))
    first = outcome(autonomy, "d", Outcome(success=True))
    head, entries = autonomy.audit_snapshot().head, autonomy.audit_entries()
    target, message = ("nope", "no decision with this id") if case == "unknown" else ("d", "already has an outcome")
    with pytest.raises(DecisionError, match=message) as refused:
        outcome(autonomy, target, Outcome(success=False))
    assert refused.value.decision_id == target
    assert autonomy.audit_snapshot().head == head
    assert autonomy.audit_entries() == entries
    assert autonomy.get_decision("w", "d") == first
    assert autonomy.area_stats("w", ["file:a.py"]) == {"file:a.py": AreaStats(1, 0)}


def fill_history(store: AutonomyStore) -> None:
    """Deployments in several environments with outcomes, plus decisions that must not count."""
    deployments: list[tuple[str | None, int, float, Outcome | None]] = [
        ("production", 100, 5.0, Outcome(success=True)),
        ("production", 5_000, 2.5, Outcome(success=False)),
        ("staging", 10, 99.75, Outcome(should_have_escalated=True)),
        (None, 0, 0.0, None),
    ]
    for i, (environment, records, cost, result) in enumerate(deployments):
        add(
            store,
            f"dep{i}",
            environment=environment,
            record_count=records,
            estimated_cost=cost,
            at=AT + timedelta(minutes=i),
        )
        if result is not None:
            outcome(store, f"dep{i}", result)
    add(store, "fix0", type="fix", record_count=10**9, estimated_cost=1e6, at=AT + timedelta(minutes=10))
    outcome(store, "fix0", Outcome(success=True))
    add(store, "dep0", workspace="other", record_count=10**9)


def test_type_stats_count_one_type_of_one_workspace(autonomy: SqlAutonomyStore) -> None:
    """Labels, environments and maxima are counted per workspace and type, the same as in memory."""
    fill_history(autonomy)
    expected = TypeStats(
        successes=1,
        failures=2,
        decisions=4,
        by_environment={"production": 2, "staging": 1, None: 1},
        max_record_count=5_000,
        max_estimated_cost=99.75,
    )
    assert autonomy.type_stats("w", "deployment") == expected
    assert autonomy.type_stats("w", "fix") == TypeStats(
        successes=1, decisions=1, by_environment={"production": 1}, max_record_count=10**9, max_estimated_cost=1e6
    )
    assert autonomy.type_stats("w", "security") == TypeStats()
    assert autonomy.type_stats("nobody", "deployment") == TypeStats()
    memory = MemoryAutonomyStore()
    fill_history(memory)
    for decision_type in ("deployment", "fix", "security"):
        assert autonomy.type_stats("w", decision_type) == memory.type_stats("w", decision_type)


def test_decision_count_and_listing(autonomy: SqlAutonomyStore) -> None:
    """Counts are per workspace; ``decisions`` lists oldest first, from ``since`` inclusive."""
    fill_history(autonomy)
    assert (autonomy.decision_count("w"), autonomy.decision_count("other"), autonomy.decision_count("x")) == (5, 1, 0)
    assert [r.decision_id for r in autonomy.decisions("w")] == ["dep0", "dep1", "dep2", "dep3", "fix0"]
    since = AT + timedelta(minutes=2)
    assert [r.decision_id for r in autonomy.decisions("w", since=since)] == ["dep2", "dep3", "fix0"]
    assert autonomy.decisions("w", since=AT + timedelta(days=1)) == []
    assert autonomy.decisions("x") == []
    listed = autonomy.decisions("w")
    assert listed == [autonomy.get_decision("w", r.decision_id) for r in listed]


def test_shift_offset_adds_and_clamps(autonomy: SqlAutonomyStore) -> None:
    """Each shift adds to the offset (from 0), clamps it to [low, high] and returns the new value."""
    steps = [(0.1, 0.1), (0.5, 0.3), (-0.05, 0.25), (-1.0, -0.2), (0.05, -0.15)]
    values = [autonomy.shift_offset("w", "type:fix", delta, low=-0.2, high=0.3) for delta, _ in steps]
    assert values == pytest.approx([value for _, value in steps], abs=1e-12)
    assert autonomy.offsets("w") == {"type:fix": pytest.approx(-0.15, abs=1e-12)}
    assert autonomy.shift_offset("w", "rate:balanced", 0.9, low=-0.15, high=0.15) == pytest.approx(0.15)
    assert autonomy.shift_offset("other", "type:fix", -0.9, low=-0.2, high=0.3) == pytest.approx(-0.2)
    assert autonomy.offsets("w") == pytest.approx({"type:fix": -0.15, "rate:balanced": 0.15})
    assert autonomy.offsets("other") == pytest.approx({"type:fix": -0.2})
    assert autonomy.offsets("nobody") == {}


def test_concurrent_shifts_lose_no_update(autonomy: SqlAutonomyStore) -> None:
    """8 threads each shifting the same offset 50 times by 0.001 end at exactly 0.4."""
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def shift() -> None:
        start.wait()
        try:
            for _ in range(50):
                autonomy.shift_offset("w", "rate:balanced", 0.001, low=-1.0, high=1.0)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    run_threads(shift, 8)
    assert errors == []
    assert autonomy.offsets("w")["rate:balanced"] == pytest.approx(0.4, abs=1e-9)


def calibration_record(created_at: datetime, name: str) -> CalibrationRecord:
    """A calibration with one certified and one uncertified type."""
    return CalibrationRecord(
        id=name,
        created_at=created_at,
        alpha=0.05,
        delta=0.1,
        floors={"deployment": 0.8125, "data": None},
        labelled={"deployment": 120, "data": 3},
        messages={"deployment": "certified", "data": "too few labelled decisions"},
    )


@pytest.mark.parametrize("newest_first", [False, True])
def test_calibration_loads_the_newest(autonomy: SqlAutonomyStore, newest_first: bool) -> None:
    """The calibration in force is the newest by creation time, whatever order they were saved in."""
    assert autonomy.calibration("w") is None
    older, newer = calibration_record(AT, "c-old"), calibration_record(AT + timedelta(days=1), "c-new")
    for saved in (newer, older) if newest_first else (older, newer):
        autonomy.save_calibration("w", saved)
    loaded = autonomy.calibration("w")
    assert loaded == newer
    assert loaded is not None
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert autonomy.calibration("other") is None


DECISIONS: list[dict[str, Any]] = [
    {"id": "d1", "description": "Fix a typo in the README", "affected_files": ["README.md"]},
    {"id": "d2", "description": "Deploy v2.3 to production", "environment": "production"},
    {"id": "d3", "description": "Refactor the parser module", "affected_files": ["src/parser.py", "src/lexer.py"]},
    {"id": "d4", "description": "Delete 50000 stale user records", "record_count": 50_000, "affected_systems": ["db"]},
    {"id": "d5", "description": "Update the staging config timeout", "environment": "staging"},
]


def engine_flow(store: AutonomyStore, *, seed: int = 7) -> tuple[EscalationEngine, list[dict[str, Any]]]:
    """Five decisions and two outcomes through the engine, with a seeded sampler and a ticking clock."""
    ticks = count()
    engine = EscalationEngine(
        store, rng=random.Random(seed), clock=lambda: AT + timedelta(seconds=next(ticks)), unusual_after=2
    )
    lines = [engine.evaluate(d).to_line() for d in DECISIONS]
    engine.record_outcome("d1", Outcome(success=True))
    engine.record_outcome("d2", Outcome(response="approve", response_time_s=5.0))
    return engine, lines


def test_engine_flow_leaves_an_intact_trail(autonomy: SqlAutonomyStore) -> None:
    """Five decisions and two outcomes are seven linked entries, decisions first, verified intact."""
    engine_flow(autonomy)
    entries = autonomy.audit_entries()
    assert [(e.seq, e.kind, e.content()["decision_id"]) for e in entries] == [
        *((i, "decision", f"d{i}") for i in range(1, 6)),
        (6, "outcome", "d1"),
        (7, "outcome", "d2"),
    ]
    assert [autonomy.get_decision("default", f"d{i}") is not None for i in range(1, 6)] == [True] * 5
    assert [r.audit_seq for r in autonomy.decisions("default")] == [1, 2, 3, 4, 5]
    assert verify_stored_chain(autonomy) == intact(7, autonomy.audit_snapshot().head)


def test_verify_parses_each_entry_once(autonomy: SqlAutonomyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verifying the trail and its rows parses each entry's body once, when the snapshot reads it."""
    engine_flow(autonomy)
    bodies = [e.body for e in autonomy.audit_entries()]
    parses = count_parses(monkeypatch)
    assert verify_trail(autonomy, key=None).ok
    assert Counter(text for text in parses if text in bodies) == Counter(bodies)


def test_outcomes_and_calibrations_are_referenced(autonomy: SqlAutonomyStore) -> None:
    """The highest referenced entry counts outcomes and calibrations, so cutting them is caught."""
    engine_flow(autonomy)
    assert autonomy.audit_snapshot().referenced == 7
    draft = AuditDraft(at=AT, kind="calibration", workspace="w", decision_id=None, payload={"id": "c"})
    autonomy.save_calibration("w", calibration_record(AT, "c"), draft)
    assert autonomy.audit_snapshot().referenced == 8
    assert autonomy.audit_entries(after=7)[0].kind == "calibration"


def edit_body(conn: Connection) -> None:
    """Flip entry 3's ``escalate`` in its stored body, keeping its hash."""
    body = conn.execute(text("SELECT body FROM audit_entries WHERE seq = 3")).scalar_one()
    content = json.loads(body)
    content["payload"]["escalate"] = not content["payload"]["escalate"]
    conn.execute(text("UPDATE audit_entries SET body = :body WHERE seq = 3"), {"body": canonical_json(content)})


def delete_middle(conn: Connection) -> None:
    """Remove entry 4."""
    conn.execute(text("DELETE FROM audit_entries WHERE seq = 4"))


def delete_last(conn: Connection) -> None:
    """Remove the newest entry (7), leaving the head as it was."""
    conn.execute(text("DELETE FROM audit_entries WHERE seq = 7"))


def swap_rows(conn: Connection) -> None:
    """Exchange the bodies and hashes of entries 2 and 5."""
    rows = {r.seq: (r.body, r.hash) for r in conn.execute(text("SELECT seq, body, hash FROM audit_entries"))}
    for seq, other in ((2, 5), (5, 2)):
        body, hashed = rows[other]
        conn.execute(
            text("UPDATE audit_entries SET body = :b, hash = :h WHERE seq = :s"), {"b": body, "h": hashed, "s": seq}
        )


def delete_head(conn: Connection) -> None:
    """Remove the head row."""
    conn.execute(text("DELETE FROM audit_head"))


@pytest.mark.parametrize(
    ("tamper", "first_bad", "decision", "problem"),
    [
        pytest.param(edit_body, 3, "d3", "edited", id="edited-body"),
        pytest.param(delete_middle, 5, "d5", "expected entry 4 here", id="deleted-middle"),
        pytest.param(delete_last, 7, None, "the newest entries were removed", id="deleted-last"),
        pytest.param(swap_rows, 2, "d5", "its content says it is entry 5: moved", id="swapped"),
        pytest.param(delete_head, 1, None, "head is missing", id="head-deleted"),
    ],
)
def test_tampering_in_the_database_is_detected(
    autonomy: SqlAutonomyStore, tamper: Callable[[Connection], None], first_bad: int, decision: str | None, problem: str
) -> None:
    """Raw SQL edits of the trail are reported at the first entry they broke."""
    engine_flow(autonomy)
    with autonomy.engine.begin() as conn:
        tamper(conn)
    report = verify_stored_chain(autonomy)
    assert not report.ok
    assert (report.first_bad_seq, report.first_bad_decision) == (first_bad, decision)
    assert problem in report.problem
    assert f"entry {first_bad}" in report.describe()


def test_append_without_a_head_is_refused(autonomy: SqlAutonomyStore) -> None:
    """With the head row gone, appending fails clearly instead of starting a second chain."""
    autonomy.append_audit(draft(None, kind="calibration"))
    with autonomy.engine.begin() as conn:
        delete_head(conn)
    with pytest.raises(StoreError, match="head row is missing"):
        autonomy.append_audit(draft(None, kind="calibration"))
    with pytest.raises(StoreError, match="head row is missing"):
        add(autonomy, "d")
    assert autonomy.decision_count("w") == 0
    assert [e.seq for e in autonomy.audit_entries()] == [1]


def test_keyed_store_writes_an_hmac_chain(store: SqlStore) -> None:
    """A store given a key writes a chain that verifies only with that key."""
    keyed = SqlAutonomyStore(store.engine, key=b"k")
    add(keyed, "d1")
    outcome(keyed, "d1", Outcome(success=True))
    entries, head = keyed.audit_entries(), keyed.audit_snapshot().head
    assert verify_chain(entries, head, b"k") == ChainReport(
        ok=True, entries=2, keyed=True, keyed_from=1, key_id=key_id(b"k"), anchor=f"2:{entries[-1].hash}"
    )
    missing = verify_chain(entries, head, None)
    assert (missing.first_bad_seq, missing.cause) == (1, "missing_key")


def test_key_set_on_an_existing_trail(store: SqlStore) -> None:
    """A key set on a SHA-256 trail makes a mixed trail that verifies; the key cannot then be dropped or changed."""
    plain, keyed = SqlAutonomyStore(store.engine), SqlAutonomyStore(store.engine, key=b"k")
    add(plain, "d1")
    add(plain, "d2")
    add(keyed, "d3")
    outcome(keyed, "d1", Outcome(success=True))
    report = verify_trail(keyed, key=b"k")
    assert (report.ok, report.keyed_from, report.rows) == (True, 3, 4)
    for key, cause in ((None, "missing_key"), (b"wrong", "wrong_key")):
        found = verify_trail(plain, key=key)
        assert (found.ok, found.first_bad_seq, found.cause) == (False, 3, cause)
    head = plain.audit_snapshot().head
    for writer, message in ((plain, "set ESCALADE_AUDIT_KEY"), (SqlAutonomyStore(store.engine, key=b"x"), "not the")):
        with pytest.raises(AuditKeyError, match=message):
            add(writer, "d4")
        with pytest.raises(AuditKeyError, match=message):
            writer.save_calibration("w", calibration_record(AT, "c"), draft(None, kind="calibration"))
    assert (plain.audit_snapshot().head, plain.decision_count("w"), plain.calibrations("w")) == (head, 3, [])


def run_threads(target: Callable[[], None], workers: int) -> None:
    """Run ``target`` in ``workers`` threads and wait for all of them."""
    threads = [threading.Thread(target=target) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_concurrent_appends_never_fork_the_chain(autonomy: SqlAutonomyStore) -> None:
    """6 threads appending 30 entries each make one chain, seq 1..180, every entry exactly once."""
    start = threading.Barrier(6)
    names = iter(range(6))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def append() -> None:
        with lock:
            worker = next(names)
        start.wait()
        try:
            for i in range(30):
                autonomy.append_audit(draft(f"t{worker}-{i}", workspace=f"t{worker}"))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    run_threads(append, 6)
    assert errors == []
    entries = autonomy.audit_entries()
    assert [e.seq for e in entries] == list(range(1, 181))
    assert sorted(e.content()["decision_id"] for e in entries) == sorted(
        f"t{w}-{i}" for w in range(6) for i in range(30)
    )
    assert autonomy.audit_snapshot().head == AuditHead(180, entries[-1].hash)
    assert verify_stored_chain(autonomy) == intact(180, autonomy.audit_snapshot().head)


def test_memory_and_sql_stores_decide_alike(autonomy: SqlAutonomyStore) -> None:
    """The same scenario, seed and clock give the same answers, offsets, stats and audit hashes in memory and SQL."""
    memory = MemoryAutonomyStore()
    memory_engine, memory_lines = engine_flow(memory)
    sql_engine, sql_lines = engine_flow(autonomy)
    again = DecisionContext(now=AT + timedelta(hours=1))
    memory_lines.append(memory_engine.evaluate({"id": "d6", "description": "Fix a typo in the docs"}, again).to_line())
    sql_lines.append(sql_engine.evaluate({"id": "d6", "description": "Fix a typo in the docs"}, again).to_line())
    assert sql_lines == memory_lines
    assert autonomy.offsets("default") == memory.offsets("default")
    for decision_type in {line["type"] for line in memory_lines}:
        assert autonomy.type_stats("default", decision_type) == memory.type_stats("default", decision_type)
    assert autonomy.decisions("default") == memory.decisions("default")
    assert [e.hash for e in autonomy.audit_entries()] == [e.hash for e in memory.audit_entries()]
    assert autonomy.audit_snapshot().head == memory.audit_snapshot().head


def full_flow(store: AutonomyStore) -> EscalationEngine:
    """:func:`engine_flow`, then calibration ``c1`` saved (entry 8) and ``c2`` saved (9) and removed (10)."""
    engine, _ = engine_flow(store)
    for name in ("c1", "c2"):
        audit = AuditDraft(at=AT, kind="calibration", workspace="default", decision_id=None, payload={"id": name})
        store.save_calibration("default", calibration_record(AT, name), audit)
    engine.remove_calibration("c2")
    return engine


def test_intact_tables_match_the_trail(autonomy: SqlAutonomyStore) -> None:
    """Decisions, outcomes, the calibration in force and the familiarity count all match their entries."""
    full_flow(autonomy)
    report = verify_trail(autonomy, key=None)
    assert (report.ok, report.entries, report.rows, report.unchecked_rows) == (True, 10, 9, 0)
    assert "10 entries, SHA-256 chain verified; 9 table rows match it" in report.describe()
    assert [c.id for c in autonomy.calibrations("default")] == ["c1"]


def edit_floors(conn: Connection) -> None:
    """Loosen calibration c1's floor in its stored body."""
    body = {**calibration_record(AT, "c1").to_dict(), "floors": {"deployment": 0.1, "data": None}}
    conn.execute(update(CALIBRATIONS).values(body=body))


def resurrect_calibration(conn: Connection) -> None:
    """Put the removed calibration c2 back, as it was."""
    row = {"id": "c2", "workspace": "default", "created_at": AT, "audit_seq": 9}
    conn.execute(CALIBRATIONS.insert().values(**row, body=calibration_record(AT, "c2").to_dict()))


COPY_D1 = (
    "INSERT INTO autonomy_decisions (workspace, decision_id, at, agent, profile, type, environment, escalated,"
    " risk_accepted, confidence, threshold, priority, rule_hits, forced, recommendation, affected_files,"
    " affected_systems, record_count, estimated_cost, sampled, audit_seq) SELECT workspace, 'dx', at, agent, profile,"
    " type, environment, escalated, risk_accepted, confidence, threshold, priority, rule_hits, forced, recommendation,"
    " affected_files, affected_systems, record_count, estimated_cost, sampled, audit_seq FROM autonomy_decisions"
    " WHERE decision_id = 'd1'"
)
WHERE = " WHERE decision_id = "


@pytest.mark.parametrize(
    ("tamper", "seq", "decision", "field", "problem"),
    [
        ("UPDATE autonomy_decisions SET escalated = NOT escalated" + WHERE + "'d3'", 3, "d3", "escalated",
         "decision 'd3' in workspace 'default': the table holds escalated = "),
        ("UPDATE autonomy_decisions SET confidence = 0.99" + WHERE + "'d1'", 1, "d1", "confidence",
         "the table holds confidence = 0.99, but its audit entry 1 recorded"),
        ("UPDATE autonomy_decisions SET rule_hits = '[]'" + WHERE + "'d2'", 2, "d2", "rule_hits",
         "holds rule_hits = []"),
        ("UPDATE autonomy_decisions SET label = NOT label" + WHERE + "'d1'", 6, "d1", "label",
         "the outcome of decision 'd1' in workspace 'default': the table holds label = true"),
        ("UPDATE autonomy_decisions SET label = TRUE" + WHERE + "'d4'", None, "d4", None,
         "the outcome of decision 'd4' in workspace 'default' is in the table, but no audit entry wrote it"),
        ("UPDATE autonomy_decisions SET outcome_seq = 7" + WHERE + "'d1'", 6, "d1", "outcome_seq",
         "refers to audit entry 7, but entry 6 wrote it"),
        ("DELETE FROM autonomy_decisions" + WHERE + "'d5'", 5, "d5", None,
         "audit entry 5 wrote decision 'd5' in workspace 'default', but the table has no such row (deleted)"),
        (COPY_D1, 1, "dx", None, "decision 'dx' in workspace 'default' is in the table, but no audit entry wrote it"),
        ("UPDATE autonomy_areas SET successes = successes + 10", 6, None, "successes",
         "the familiarity count of 'file:README.md' in workspace 'default': the table holds successes = 11"),
        ("DELETE FROM autonomy_areas", 6, None, None, "the familiarity count of 'file:README.md'"),
        (edit_floors, 8, None, "floors", "calibration 'c1' in workspace 'default': the table holds floors ="),
        ("UPDATE autonomy_calibrations SET created_at = '2030-01-01 00:00:00'", 8, None, "created_at",
         "calibration 'c1' in workspace 'default': the table holds created_at"),
        ("DELETE FROM autonomy_calibrations", 8, None, None, "audit entry 8 wrote calibration 'c1'"),
        (resurrect_calibration, 9, None, None, "calibration 'c2' in workspace 'default' is in the table, but no audit"),
    ],
    ids=["escalated", "confidence", "rule-hits", "label", "label-without-outcome", "outcome-seq", "deleted-row",
         "inserted-row", "area-count", "area-deleted", "floors", "calibration-time", "calibration-deleted",
         "calibration-resurrected"],
)  # fmt: skip
def test_table_edits_are_caught(
    autonomy: SqlAutonomyStore,
    tamper: str | Callable[[Connection], None],
    seq: int | None,
    decision: str | None,
    field: str | None,
    problem: str,
) -> None:
    """A row edited, removed or added behind escalade's back is named with its field, though the chain is intact."""
    full_flow(autonomy)
    with autonomy.engine.begin() as conn:
        conn.execute(text(tamper)) if isinstance(tamper, str) else tamper(conn)
    assert verify_stored_chain(autonomy).ok
    report = verify_trail(autonomy, key=None)
    assert (report.ok, report.cause) == (False, "tampered")
    assert (report.first_bad_seq, report.first_bad_decision, report.field) == (seq, decision, field)
    assert problem in report.problem
    assert report.describe().startswith("the tables differ from the audit trail")


def test_calibrations_are_listed_and_removed(autonomy: SqlAutonomyStore) -> None:
    """Calibrations list newest first; removing the newest puts the previous one in force, with an audit entry."""
    older, newer = calibration_record(AT, "c-old"), calibration_record(AT + timedelta(days=1), "c-new")
    for saved in (older, newer):
        autonomy.save_calibration("w", saved, draft(None, kind="calibration"))
    assert [c.id for c in autonomy.calibrations("w")] == ["c-new", "c-old"]
    assert autonomy.calibrations("other") == []
    removed = autonomy.remove_calibration("w", "c-new", draft(None, kind="calibration_removed"))
    assert removed == newer
    assert autonomy.calibration("w") == older
    assert autonomy.audit_entries()[-1].content()["record"] == {"id": "c-new"}
    assert verify_trail(autonomy, key=None).ok


@pytest.mark.parametrize(("workspace", "name"), [("w", "nope"), ("other", "c1")])
def test_removing_an_unknown_calibration_changes_nothing(autonomy: SqlAutonomyStore, workspace: str, name: str) -> None:
    """An id not stored in that workspace is a clear error; no row goes and no entry is appended."""
    autonomy.save_calibration("w", calibration_record(AT, "c1"), draft(None, kind="calibration"))
    head = autonomy.audit_snapshot().head
    with pytest.raises(CalibrationNotFoundError, match=f"no calibration with id '{name}' in workspace '{workspace}'"):
        autonomy.remove_calibration(workspace, name, draft(None, kind="calibration_removed"))
    assert (autonomy.audit_snapshot().head, [c.id for c in autonomy.calibrations("w")]) == (head, ["c1"])
