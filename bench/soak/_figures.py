"""The soak's figures from the database, once the run has settled: spend against caps, workflows, holds.

Read with the store's own table definitions (:mod:`escalade.store`), on the run's database:

- **ledger**: each workspace's month line (``workspace:<name>:month:<YYYY-MM>``): cap, spent,
  reserved, ``overspend_usd = max(0, spent - cap)``; whether ``spent`` equals the bills its holds
  recorded and ``reserved`` the amounts still held on it (informational, ``ledger_agrees``);
- **holds** by status, ``unreclaimed`` (still ``held`` with ``expires_at`` in the past) and
  ``held_unexpired`` (still ``held``, not yet expired: none should remain once nothing runs);
- **workflows**: every accepted one's final state, ``lost`` (accepted, then missing or never
  terminal), how many were started more than once, how long they took (created → finished), and
  ``unacknowledged`` (in the table although no submission of the client got a 2xx for it).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from escalade.store import BudgetHoldRow, BudgetLineRow, WorkflowRow

__all__ = [
    "TERMINAL",
    "hold_figures",
    "ledger_figures",
    "running_pids",
    "wait_for_workflows",
    "wait_past_holds",
    "workflow_rows",
]

TERMINAL = frozenset({"completed", "failed", "cancelled"})
_NANO = 1e9
_CHUNK = 500


def running_pids(engine: Engine) -> set[int]:
    """Process ids of the replicas running a workflow right now (from each running workflow's owner)."""
    with engine.connect() as conn:
        owners = conn.scalars(select(WorkflowRow.owner).where(WorkflowRow.state == "running")).all()
    return {int(owner.split(":")[-2]) for owner in owners if owner and owner.count(":") >= 2}


def workflow_rows(engine: Engine, ids: Sequence[str]) -> dict[str, Any]:
    """The workflow rows of ``ids`` that exist, by id."""
    found: dict[str, Any] = {}
    with engine.connect() as conn:
        for at in range(0, len(ids), _CHUNK):
            chunk = list(ids[at : at + _CHUNK])
            for row in conn.execute(select(WorkflowRow).where(WorkflowRow.id.in_(chunk))):
                found[row.id] = row
    return found


def wait_for_workflows(engine: Engine, ids: Sequence[str], timeout_s: float) -> float:
    """Wait until every workflow of ``ids`` is terminal, or ``timeout_s``; the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        rows = workflow_rows(engine, ids)
        if len(rows) == len(ids) and all(row.state in TERMINAL for row in rows.values()):
            break
        time.sleep(1.0)
    return round(time.monotonic() - started, 1)


def wait_past_holds(engine: Engine, *, sweep_every_s: float, timeout_s: float) -> dict[str, Any]:
    """Wait until the latest expiry of the holds still held, plus two sweeps and 2 s (at most ``timeout_s``).

    The figures are read once, after that: a hold still held then was not reclaimed in time."""
    with engine.connect() as conn:
        latest = conn.scalar(select(func.max(BudgetHoldRow.expires_at)).where(BudgetHoldRow.status == "held"))
    now = time.time()
    until = now if latest is None else max(now, float(latest) + 2 * sweep_every_s + 2.0)
    waited = min(until - now, timeout_s)
    time.sleep(max(0.0, waited))
    return {
        "latest_expiry_in_s": None if latest is None else round(float(latest) - now, 1),
        "waited_s": round(waited, 1),
    }


def _by_line(holds: Iterable[Any]) -> tuple[Counter[str], Counter[str]]:
    """Per line key: the bills recorded by its holds, and the amounts still held on it (nano-dollars)."""
    billed: Counter[str] = Counter()
    held: Counter[str] = Counter()
    for hold in holds:
        for key in hold.lines:
            if hold.actual is not None:
                billed[key] += int(hold.actual)
            if hold.status == "held":
                held[key] += int(hold.amount)
    return billed, held


def ledger_figures(engine: Engine) -> dict[str, dict[str, Any]]:
    """Each workspace's month line: cap, spent, reserved, overspend, and whether its holds agree."""
    with engine.connect() as conn:
        lines = conn.execute(select(BudgetLineRow).where(BudgetLineRow.key.like("workspace:%:month:%"))).all()
        holds = conn.execute(
            select(BudgetHoldRow.lines, BudgetHoldRow.actual, BudgetHoldRow.status, BudgetHoldRow.amount)
        ).all()
    billed, held = _by_line(holds)
    found = {}
    for line in lines:
        workspace = line.key.split(":")[1]
        found[workspace] = {
            "line": line.key,
            "cap_usd": None if line.cap is None else line.cap / _NANO,
            "spent_usd": line.spent / _NANO,
            "reserved_usd": line.reserved / _NANO,
            "overspend_usd": 0.0 if line.cap is None else max(0, line.spent - line.cap) / _NANO,
            "ledger_agrees": line.spent == billed[line.key] and line.reserved == held[line.key],
        }
    return found


def hold_figures(engine: Engine) -> dict[str, Any]:
    """Holds by status, and those still held after their expiry (unreclaimed) or before it."""
    now = time.time()
    with engine.connect() as conn:
        rows = conn.execute(select(BudgetHoldRow.status, BudgetHoldRow.expires_at)).all()
    held = [r for r in rows if r.status == "held"]
    return {
        "by_status": dict(Counter(r.status for r in rows)),
        "unreclaimed": sum(1 for r in held if r.expires_at < now),
        "held_unexpired": sum(1 for r in held if r.expires_at >= now),
    }


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


def workflow_figures(engine: Engine, accepted: Sequence[str]) -> dict[str, Any]:
    """Every accepted workflow's fate; ``lost`` lists the ids accepted and then missing or unfinished."""
    rows = workflow_rows(engine, accepted)
    lost = [wid for wid in accepted if wid not in rows or rows[wid].state not in TERMINAL]
    with engine.connect() as conn:
        in_table = conn.scalar(select(func.count()).select_from(WorkflowRow)) or 0
    errors = Counter((row.error or "")[:80] for row in rows.values() if row.state == "failed")
    return {
        "accepted": len(accepted),
        "by_state": dict(Counter(row.state for row in rows.values())),
        "lost": len(lost),
        "lost_ids": lost[:20],
        "started_more_than_once": sum(1 for row in rows.values() if row.attempts > 1),
        "failed_by_error": dict(errors.most_common(10)),
        "unacknowledged": int(in_table) - len(rows),
    }


def workflow_durations(engine: Engine, accepted: Sequence[str]) -> list[tuple[datetime, float, str]]:
    """``(created_at, seconds to finish, state)`` of every accepted workflow that finished."""
    found = []
    for row in workflow_rows(engine, accepted).values():
        took = _seconds(row.created_at, row.finished_at)
        if took is not None:
            found.append((row.created_at, took, row.state))
    return found
