"""One transaction for a batch of ledger calls (see :mod:`escalade.budget._batch`), on SQLite or PostgreSQL.

In order, inside the transaction:

1. the stored holds the batch settles or releases, locked (``SELECT ... FOR UPDATE``, by id), and
   their compare-and-sets (:func:`~escalade.budget._batch.plan_returns`); on PostgreSQL, one
   ``UPDATE`` flips, locks and returns the ``held`` ones;
2. every new reservation's hold inserted as ``held``;
3. only then the lines the batch touches, locked in key order (no deadlocks) and read, so a hot
   line's row lock is held by this statement, what follows and the commit only, as for a single
   reservation;
4. :func:`~escalade.budget._batch.plan_reservations` grants or refuses each reservation on them;
5. one ``UPDATE`` per line with its net change, and the refused reservations' holds deleted.

On SQLite the transaction holds the write lock from its start (``BEGIN IMMEDIATE``), so the rows
cannot change between the read and the writes; on PostgreSQL the row locks do the same. Whatever
fails, the whole batch rolls back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Connection, Executable, Table, bindparam, delete, select, text, update

from escalade.budget._batch import (
    Op,
    Plan,
    Release,
    Reserve,
    Result,
    Settle,
    StoredHold,
    plan_reservations,
    plan_returns,
)
from escalade.budget._ledger import Hold, HoldStatus, LineState
from escalade.store._models import BudgetHoldRow, BudgetLineRow

__all__ = ["run_batch"]

_LINES = cast(Table, BudgetLineRow.__table__)
_HOLDS = cast(Table, BudgetHoldRow.__table__)


def run_batch(conn: Connection, ops: Sequence[Op], *, now: float, at: datetime) -> list[Result]:
    """Decide and record ``ops`` in ``conn``'s transaction; one result per call (``now``: Unix time)."""
    sql = _POSTGRES if conn.dialect.name == "postgresql" else _PORTABLE
    plan = _returns(conn, sql, ops)
    reserving = [op.hold for op in ops if isinstance(op, Reserve)]
    if reserving:
        conn.execute(sql.insert_holds, sql.new_holds(reserving, now))
    # Only now are lines locked: what holds their rows is this statement, the UPDATE and the commit.
    keys = sorted({key for hold in reserving for key in hold.keys} | set(plan.deltas))
    if sql.move_all is None or not _bounded(plan, reserving):
        lines = {
            row.key: LineState(key=row.key, cap=row.cap, spent=row.spent, reserved=row.reserved)
            for row in conn.execute(sql.lock_lines, {"keys": keys})
        }
        plan_reservations(plan, ops, lines=lines)
        _move(conn, plan.deltas, at)
    else:
        _optimistic(conn, sql.move_all, plan, ops, reserving, keys, at)
    if plan.refused:
        conn.execute(sql.drop_holds, {"ids": [hold.id for hold in plan.refused]})
    return plan.results


#: Largest change the one-statement way adds to a line before deciding (a line's sums are 64-bit).
_ADD_BOUND = 2**62


def _bounded(plan: Plan, reserving: Sequence[Hold]) -> bool:
    """Whether adding everything first stays far inside 64 bits (else: lock, decide, then write)."""
    added = sum(hold.amount for hold in reserving) + sum(abs(s) + abs(r) for s, r in plan.deltas.values())
    return added < _ADD_BOUND


def _returns(conn: Connection, sql: _Dialect, ops: Sequence[Op]) -> Plan:
    """Step 1: lock the holds being settled or released, flip their statuses, and plan what that gives back.

    On PostgreSQL the holds that are ``held`` (nearly all) are flipped by one statement that also locks
    and returns them; only the others (expired, finished, unknown) are then locked and read. A batch
    naming a hold twice takes the general way: one ``UPDATE`` cannot apply two calls to one row.
    """
    returning = [op for op in ops if isinstance(op, Settle | Release)]
    ids = [op.hold.id for op in returning]
    stored: dict[str, StoredHold] = {}
    flipped: set[str] = set()
    if sql.flip_held is not None and returning and len(set(ids)) == len(ids):
        params = {
            "ids": ids,
            "news": ["settled" if isinstance(op, Settle) else "released" for op in returning],
            "actuals": [op.counted if isinstance(op, Settle) else None for op in returning],
        }
        for row in conn.execute(sql.flip_held, params):
            stored[row.id] = StoredHold(lines=tuple(row.lines), amount=row.amount, status="held")
            flipped.add(row.id)
    rest = sorted(set(ids) - flipped)
    if rest:
        for row in conn.execute(sql.lock_holds, {"ids": rest}):
            stored[row.id] = StoredHold(lines=tuple(row.lines), amount=row.amount, status=row.status)
    plan = plan_returns(ops, stored=stored)
    todo = [flip for flip in plan.flips if flip[0] not in flipped]  # the held ones are flipped already
    if todo:
        conn.execute(sql.flip, sql.flips(todo))
    return plan


def _move(conn: Connection, deltas: Mapping[str, tuple[int, int]], at: datetime) -> None:
    """Add each line's ``(spent, reserved)`` change (the rows are locked)."""
    if deltas:
        rows = [{"line_key": k, "add_spent": s, "add_reserved": r, "at": at} for k, (s, r) in sorted(deltas.items())]
        conn.execute(_MOVE, rows)


def _optimistic(
    conn: Connection,
    move_all: Executable,
    plan: Plan,
    ops: Sequence[Op],
    reserving: Sequence[Hold],
    keys: list[str],
    at: datetime,
) -> None:
    """Lock, decide and write the lines in one statement when every reservation fits, as it nearly always does.

    The statement locks the lines in key order and adds everything (the returns and every
    reservation); the rows it returns, less what it added, are the lines as they were when locked.
    :func:`~escalade.budget._batch.plan_reservations` then decides on those. If it refuses anything
    (a line at its cap, or gone), a second ``UPDATE`` takes back what was added for it, still inside
    the transaction, so no other transaction ever sees a line past its cap.
    """
    added = {key: list(plan.deltas.get(key, (0, 0))) for key in keys}
    for hold in reserving:
        for key in hold.keys:
            added[key][1] += hold.amount
    params = {
        "keys": keys,
        "spent": [added[k][0] for k in keys],
        "reserved": [added[k][1] for k in keys],
        "at": at,
    }
    lines = {
        row.key: LineState(
            key=row.key, cap=row.cap, spent=row.spent - added[row.key][0], reserved=row.reserved - added[row.key][1]
        )
        for row in conn.execute(move_all, params)
    }
    plan_reservations(plan, ops, lines=lines)
    wanted = plan.deltas
    correction = {
        key: (wanted.get(key, (0, 0))[0] - added[key][0], wanted.get(key, (0, 0))[1] - added[key][1]) for key in lines
    }
    _move(conn, {key: change for key, change in correction.items() if change != (0, 0)}, at)


Flip = tuple[str, HoldStatus, HoldStatus, int | None]


@dataclass(frozen=True)
class _Dialect:
    """The batch's statements for one kind of database, and the parameters they take."""

    lock_holds: Executable
    insert_holds: Executable
    lock_lines: Executable
    flip: Executable
    #: Flip, lock and return the holds that are ``held`` in one statement; ``None``: lock, then flip.
    flip_held: Executable | None
    drop_holds: Executable
    #: Lock every line and add its changes in one statement (see :func:`_optimistic`); ``None``: lock, then write.
    move_all: Executable | None
    new_holds: Callable[[Sequence[Hold], float], Any]
    flips: Callable[[Sequence[Flip]], Any]


def _rows(holds: Sequence[Hold], now: float) -> list[dict[str, Any]]:
    return [
        {
            "id": hold.id,
            "lines": list(hold.keys),
            "amount": hold.amount,
            "status": "held",
            "actual": None,
            "owner": hold.owner,
            "created_at": now,
            "expires_at": hold.expires_at,
        }
        for hold in holds
    ]


def _flip_rows(flips: Sequence[Flip]) -> list[dict[str, Any]]:
    return [{"hold_id": i, "old": old, "new": new, "actual_amount": actual} for i, old, new, actual in flips]


#: SQLite (and any other database): a statement per row through ``executemany``, which SQLite runs in-process.
_PORTABLE = _Dialect(
    lock_holds=select(_HOLDS.c.id, _HOLDS.c.lines, _HOLDS.c.amount, _HOLDS.c.status)
    .where(_HOLDS.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_HOLDS.c.id)
    .with_for_update(),
    insert_holds=_HOLDS.insert(),
    lock_lines=select(_LINES.c.key, _LINES.c.cap, _LINES.c.spent, _LINES.c.reserved)
    .where(_LINES.c.key.in_(bindparam("keys", expanding=True)))
    .order_by(_LINES.c.key)
    .with_for_update(),
    flip=update(_HOLDS)
    .where(_HOLDS.c.id == bindparam("hold_id"), _HOLDS.c.status == bindparam("old"))
    .values(status=bindparam("new"), actual=bindparam("actual_amount", type_=BigInteger)),
    flip_held=None,
    drop_holds=delete(_HOLDS).where(_HOLDS.c.id.in_(bindparam("ids", expanding=True))),
    move_all=None,
    new_holds=_rows,
    flips=_flip_rows,
)


def _arrays(holds: Sequence[Hold], now: float) -> dict[str, Any]:
    return {
        "ids": [hold.id for hold in holds],
        "lines": [json.dumps(list(hold.keys)) for hold in holds],
        "amounts": [hold.amount for hold in holds],
        "owners": [hold.owner for hold in holds],
        "expires": [hold.expires_at for hold in holds],
        "now": now,
    }


def _flip_arrays(flips: Sequence[Flip]) -> dict[str, Any]:
    return {
        "ids": [f[0] for f in flips],
        "olds": [f[1] for f in flips],
        "news": [f[2] for f in flips],
        "actuals": [f[3] for f in flips],
    }


#: PostgreSQL: one statement of the same text for any batch size, with arrays as parameters (one round
#: trip each, and psycopg prepares them once).
_POSTGRES = _Dialect(
    lock_holds=text(
        "SELECT id, lines, amount, status FROM budget_holds WHERE id = ANY(CAST(:ids AS varchar[])) "
        'ORDER BY id COLLATE "C" FOR UPDATE'
    ).columns(_HOLDS.c.id, _HOLDS.c.lines, _HOLDS.c.amount, _HOLDS.c.status),
    insert_holds=text(
        "INSERT INTO budget_holds (id, lines, amount, status, actual, owner, created_at, expires_at) "
        "SELECT v.id, CAST(v.lines AS json), v.amount, 'held', NULL, v.owner, :now, v.expires "
        "FROM unnest(CAST(:ids AS varchar[]), CAST(:lines AS text[]), CAST(:amounts AS bigint[]), "
        "CAST(:owners AS varchar[]), CAST(:expires AS float8[])) AS v(id, lines, amount, owner, expires)"
    ),
    lock_lines=text(
        "SELECT key, cap, spent, reserved FROM budget_lines WHERE key = ANY(CAST(:keys AS varchar[])) "
        'ORDER BY key COLLATE "C" FOR UPDATE'
    ),
    flip=text(
        "UPDATE budget_holds AS h SET status = v.new, actual = v.actual "
        "FROM unnest(CAST(:ids AS varchar[]), CAST(:olds AS varchar[]), CAST(:news AS varchar[]), "
        "CAST(:actuals AS bigint[])) AS v(id, old, new, actual) WHERE h.id = v.id AND h.status = v.old"
    ),
    flip_held=text(
        "WITH locked AS MATERIALIZED (SELECT id FROM budget_holds WHERE id = ANY(CAST(:ids AS varchar[])) "
        'ORDER BY id COLLATE "C" FOR UPDATE) '
        "UPDATE budget_holds AS h SET status = v.new, actual = v.actual "
        "FROM unnest(CAST(:ids AS varchar[]), CAST(:news AS varchar[]), CAST(:actuals AS bigint[])) "
        "AS v(id, new, actual) WHERE h.id = v.id AND h.id IN (SELECT id FROM locked) AND h.status = 'held' "
        "RETURNING h.id, h.lines, h.amount"
    ),
    drop_holds=text("DELETE FROM budget_holds WHERE id = ANY(CAST(:ids AS varchar[]))"),
    # The CTE is materialized and locks in key order before the UPDATE reaches any row (no deadlocks).
    # Every lock is taken in code-point order (COLLATE "C"), the order of Python's sorted() that the
    # single statements use, whatever the database's collation.
    move_all=text(
        "WITH locked AS MATERIALIZED (SELECT key FROM budget_lines WHERE key = ANY(CAST(:keys AS varchar[])) "
        'ORDER BY key COLLATE "C" FOR UPDATE) '
        "UPDATE budget_lines AS l SET spent = l.spent + v.spent, reserved = l.reserved + v.reserved, updated_at = :at "
        "FROM unnest(CAST(:keys AS varchar[]), CAST(:spent AS bigint[]), CAST(:reserved AS bigint[])) "
        "AS v(key, spent, reserved) WHERE l.key = v.key AND l.key IN (SELECT key FROM locked) "
        "RETURNING l.key, l.cap, l.spent, l.reserved"
    ),
    new_holds=_arrays,
    flips=_flip_arrays,
)
_MOVE = (
    update(_LINES)
    .where(_LINES.c.key == bindparam("line_key"))
    .values(
        spent=_LINES.c.spent + bindparam("add_spent", type_=BigInteger),
        reserved=_LINES.c.reserved + bindparam("add_reserved", type_=BigInteger),
        updated_at=bindparam("at"),
    )
)
