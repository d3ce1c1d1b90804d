"""The budget ledger in SQL (SQLite or PostgreSQL): exact caps across processes and replicas.

Every reservation on a line is **one conditional UPDATE**::

    UPDATE budget_lines
       SET reserved = reserved + CASE WHEN <fits> THEN :amount ELSE 0 END,
           granted  = <fits>
     WHERE key = :key
    RETURNING granted, cap, spent, reserved

with ``<fits>`` = ``cap IS NULL OR spent + reserved + :amount <= cap``, evaluated on the row as it is
when the statement holds its lock. There is no read-then-write gap for a concurrent request to slip
through: PostgreSQL locks the row and re-evaluates the statement on the newest row version (READ
COMMITTED), and SQLite runs the whole reservation under ``BEGIN IMMEDIATE`` (one writer at a time).
The statement always writes, so a refusal returns the exact state it was refused on.

A reservation on several lines runs these statements in one transaction, in sorted key order (no
deadlocks), and records the hold in the same transaction; if any line refuses, the transaction is
rolled back and no line keeps anything. Settling and releasing first flip the hold's status with a
compare-and-set (``WHERE id = :id AND status = 'held'``), so a hold is settled or reclaimed exactly
once even when a late call and a reclaim race.

Calls that one ledger object gets at the same time (threads of one process) are **group-committed**
(:mod:`escalade.budget._batch`): they queue while a transaction is running and are then decided
together, in one transaction, exactly as if they had run one after another on the locked rows
(:mod:`escalade.store._ledger_batch`). A call alone runs the single statements above, and so does
every call from the main thread (where Ctrl-C lands: it must never interrupt a batch it leads). Each call
returns only after its transaction has committed, so nothing a caller was told is ever lost, and a
crashed process leaves only holds, which expire and are reclaimed like any other.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Connection, Engine, Table, bindparam, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from escalade.budget._batch import GroupCommit, Op, Release, Reserve, Result, Settle
from escalade.budget._ledger import (
    Hold,
    HoldStatus,
    LineState,
    Settlement,
    check_reservation,
    from_nano,
    refusal,
    request_line,
    run_line,
    settlement_amount,
    to_nano,
)
from escalade.exceptions import BudgetExceededError, StoreError
from escalade.store._engine import Database, engine_of
from escalade.store._ledger_batch import run_batch
from escalade.store._models import BudgetHoldRow, BudgetLineRow
from escalade.store._transactions import transaction

__all__ = ["SqlLedger"]

logger = logging.getLogger(__name__)

_LINES = cast(Table, BudgetLineRow.__table__)
_HOLDS = cast(Table, BudgetHoldRow.__table__)
_RECLAIM_BATCH = 500
#: Prefixes of the lines that belong to one run (:func:`run_line`, :func:`request_line`).
_PER_RUN = (run_line(""), request_line("", "").partition(":")[0] + ":")
#: Most lines a ledger remembers as open.
_MAX_KNOWN = 10_000


class SqlLedger:
    """A :class:`~escalade.budget._ledger.BudgetLedger` in the store's database (see the module docstring).

    ``engine`` is an engine or the store's :class:`~escalade.store.Database` (``SqlStore(url).ledger()``
    passes it); ``clock`` returns Unix time (injectable for tests).
    A refused reservation first looks for expired holds to reclaim, at most once every
    ``reclaim_every_s`` seconds per ledger object, so a line at its cap does not pay that query on
    every refusal. ``batch=False`` turns group commit off: every call then runs its own
    transaction (the per-statement ledger, kept to measure against).
    """

    blocking = True

    def __init__(
        self,
        engine: Engine | Database,
        *,
        clock: Callable[[], float] = time.time,
        reclaim_every_s: float = 1.0,
        batch: bool = True,
    ) -> None:
        self.engine = engine_of(engine)
        self._clock = clock
        self._sqlite = self.engine.dialect.name == "sqlite"
        self._reclaim_every = reclaim_every_s
        self._next_reclaim = -math.inf
        #: The dialect's insert of a new line that leaves an existing one as it is (built once).
        self._open_line = (sqlite.insert if self._sqlite else postgresql.insert)(_LINES).on_conflict_do_nothing(
            index_elements=["key"]
        )
        #: Lines that outlive runs (a workspace's month), known to exist: opening them again is a no-op.
        self._known: set[str] = set()
        self._batch: GroupCommit[Op, Result] | None = GroupCommit(self._run_batch) if batch else None

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[Connection]:
        with transaction(self.engine, write=write, what="budget ledger") as conn:
            yield conn

    def open(self, key: str, cap_usd: float | None) -> None:
        if key in self._known:  # opening keeps an existing line as it is, so there is nothing to write
            return
        with self._transaction() as conn:
            conn.execute(self._open_line, _new_line(key, cap_usd))
        if not key.startswith(_PER_RUN):  # a run's lines go with the run (retention deletes them)
            if len(self._known) >= _MAX_KNOWN:
                self._known.clear()
            self._known.add(key)

    def set_cap(self, key: str, cap_usd: float | None) -> None:
        stmt = (sqlite.insert if self._sqlite else postgresql.insert)(_LINES)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"], set_={"cap": stmt.excluded.cap, "updated_at": stmt.excluded.updated_at}
        )
        with self._transaction() as conn:
            conn.execute(stmt, _new_line(key, cap_usd))

    def line(self, key: str) -> LineState:
        query = select(_LINES.c.cap, _LINES.c.spent, _LINES.c.reserved).where(_LINES.c.key == key)
        with self._transaction(write=False) as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            raise StoreError(f"no budget line {key!r}: open it before reserving on it")
        return LineState(key=key, cap=row.cap, spent=row.spent, reserved=row.reserved)

    def lines(self, prefix: str = "") -> list[LineState]:
        """Every line whose key starts with ``prefix``, by key."""
        query = select(_LINES).order_by(_LINES.c.key)
        if prefix:
            query = query.where(_LINES.c.key.startswith(prefix, autoescape=True))
        with self._transaction(write=False) as conn:
            rows = conn.execute(query).all()
        return [LineState(key=r.key, cap=r.cap, spent=r.spent, reserved=r.reserved) for r in rows]

    def reserve(self, keys: Sequence[str], amount_usd: float, *, ttl_s: float, owner: str = "") -> Hold:
        lines, amount = check_reservation(keys, amount_usd, ttl_s)
        try:
            return self._reserve(lines, amount, ttl_s, owner)
        except BudgetExceededError:
            now = self._clock()
            if now < self._next_reclaim:
                raise
            self._next_reclaim = now + self._reclaim_every
            if not self.reclaim_expired():
                raise
        return self._reserve(lines, amount, ttl_s, owner)  # stale holds of a crashed process were in the way

    def _reserve(self, lines: tuple[str, ...], amount: int, ttl_s: float, owner: str) -> Hold:
        hold = Hold(id=_hold_id(), keys=lines, amount=amount, expires_at=self._clock() + ttl_s, owner=owner[:400])
        if self._batch is None or _in_main_thread():
            return self._reserve_one(hold)
        return cast(Hold, self._batch.submit(Reserve(hold)))

    def _run_batch(self, ops: list[Op]) -> list[Result]:
        """One transaction for calls that came in together; a call alone takes the single statements."""
        if len(ops) > 1:
            now = self._clock()
            with self._transaction() as conn:
                results = run_batch(conn, ops, now=now, at=_now())
            logger.debug("a batch of %d ledger call(s) committed", len(ops))
            return results
        (op,) = ops
        try:
            if isinstance(op, Reserve):
                return [self._reserve_one(op.hold)]
            if isinstance(op, Settle):
                return [self._settle_one(op.hold, op.counted, op.unknown)]
            return [self._release_one(op.hold)]
        except (BudgetExceededError, StoreError) as exc:
            return [exc]

    def _reserve_one(self, hold: Hold) -> Hold:
        now, lines, amount = self._clock(), hold.keys, hold.amount
        with self._transaction() as conn:
            # The hold first: on PostgreSQL, a line's row lock is then held only by the UPDATEs and the commit.
            conn.execute(
                _INSERT_HOLD,
                {
                    "id": hold.id,
                    "lines": list(lines),
                    "amount": amount,
                    "status": "held",
                    "actual": None,
                    "owner": hold.owner,
                    "created_at": now,
                    "expires_at": hold.expires_at,
                },
            )
            at = _now()
            for key in lines:
                row = conn.execute(_RESERVE_LINE, {"line_key": key, "amount": amount, "at": at}).one_or_none()
                if row is None:
                    raise StoreError(f"no budget line {key!r}: open it before reserving on it")
                if not row.granted:  # the rollback takes the hold and every earlier line's amount back
                    refused = refusal(LineState(key=key, cap=row.cap, spent=row.spent, reserved=row.reserved), amount)
                    logger.debug("refused: %s", refused)
                    raise refused
        logger.debug("hold %s: $%.9f reserved on %s", hold.id, hold.amount_usd, ", ".join(lines))
        return hold

    def _flip(self, conn: Connection, hold_id: str, old: HoldStatus, new: HoldStatus, actual: int | None) -> Any:
        """Compare-and-set a hold's status; the row's keys and amount, or ``None`` if it was not ``old``."""
        values = {"hold_id": hold_id, "old": old, "new": new, "actual_amount": actual}
        return conn.execute(_FLIP_HOLD, values).one_or_none()

    @staticmethod
    def _apply(conn: Connection, keys: Sequence[str], *, spent: int, unreserve: int) -> None:
        at = _now()
        for key in sorted(keys):
            conn.execute(_APPLY_LINE, {"line_key": key, "add_spent": spent, "unreserve": unreserve, "at": at})

    def settle(self, hold: Hold, actual_usd: float | None) -> Settlement:
        counted, unknown = settlement_amount(hold, actual_usd)
        if self._batch is None or _in_main_thread():
            return self._settle_one(hold, counted, unknown)
        return cast(Settlement, self._batch.submit(Settle(hold, counted, unknown)))

    def _settle_one(self, hold: Hold, counted: int, unknown: bool) -> Settlement:
        late = False
        with self._transaction() as conn:
            row = self._flip(conn, hold.id, "held", "settled", counted)
            if row is None:
                row, late = self._flip(conn, hold.id, "expired", "settled", counted), True
            if row is None:
                return Settlement(counted_usd=from_nano(counted), applied=False, unknown=unknown)
            self._apply(conn, row.lines, spent=counted, unreserve=0 if late else row.amount)
        logger.debug("hold %s settled: $%.9f counted%s", hold.id, from_nano(counted), " (late)" if late else "")
        return Settlement(
            counted_usd=from_nano(counted), applied=True, late=late, over_hold=counted > row.amount, unknown=unknown
        )

    def release(self, hold: Hold) -> bool:
        if self._batch is None or _in_main_thread():
            return self._release_one(hold)
        return cast(bool, self._batch.submit(Release(hold)))

    def _release_one(self, hold: Hold) -> bool:
        with self._transaction() as conn:
            row = self._flip(conn, hold.id, "held", "released", None)
            if row is None:
                return False
            self._apply(conn, row.lines, spent=0, unreserve=row.amount)
        logger.debug("hold %s released", hold.id)
        return True

    def reclaim_expired(self) -> int:
        now = self._clock()
        reclaimed = 0
        while True:  # in batches, until no expired hold is left
            query = (
                select(_HOLDS.c.id)
                .where(_HOLDS.c.status == "held", _HOLDS.c.expires_at <= now)
                .order_by(_HOLDS.c.expires_at)
                .limit(_RECLAIM_BATCH)
            )
            with self._transaction(write=False) as conn:
                stale = list(conn.scalars(query))
            for hold_id in stale:  # one transaction each: a concurrent settle wins or loses cleanly
                with self._transaction() as conn:
                    row = self._flip(conn, hold_id, "held", "expired", None)
                    if row is not None:
                        self._apply(conn, row.lines, spent=0, unreserve=row.amount)
                        reclaimed += 1
            if len(stale) < _RECLAIM_BATCH:
                if reclaimed:
                    logger.info("reclaimed %d expired budget hold(s)", reclaimed)
                return reclaimed

    def holds(self, *, status: HoldStatus | None = None, limit: int | None = None) -> list[Hold]:
        """Holds, newest first (optionally only those with ``status``, at most ``limit``)."""
        query = select(_HOLDS).order_by(_HOLDS.c.created_at.desc()).limit(limit)
        if status is not None:
            query = query.where(_HOLDS.c.status == status)
        with self._transaction(write=False) as conn:
            rows = conn.execute(query).all()
        return [
            Hold(id=r.id, keys=tuple(r.lines), amount=r.amount, expires_at=r.expires_at, owner=r.owner) for r in rows
        ]

    def purge(self, *, older_than_s: float) -> int:
        """Delete finished holds (settled, released, reclaimed) created more than ``older_than_s`` ago."""
        cutoff = self._clock() - older_than_s
        with self._transaction() as conn:
            result = conn.execute(delete(_HOLDS).where(_HOLDS.c.status != "held", _HOLDS.c.created_at < cutoff))
        logger.info("purged %d finished budget hold(s) older than %g s", result.rowcount, older_than_s)
        return int(result.rowcount)


# The hot statements, built once (building and keying a statement costs more than SQLite running it).
_INSERT_HOLD = _HOLDS.insert()
_AMOUNT = bindparam("amount", type_=BigInteger)
_FITS = or_(_LINES.c.cap.is_(None), _LINES.c.spent + _LINES.c.reserved + _AMOUNT <= _LINES.c.cap)
#: The conditional reservation of the module docstring.
_RESERVE_LINE = (
    update(_LINES)
    .where(_LINES.c.key == bindparam("line_key"))
    .values(reserved=_LINES.c.reserved + case((_FITS, _AMOUNT), else_=0), granted=_FITS, updated_at=bindparam("at"))
    .returning(_LINES.c.granted, _LINES.c.cap, _LINES.c.spent, _LINES.c.reserved)
)
#: A hold's compare-and-set from ``old`` to ``new``.
_FLIP_HOLD = (
    update(_HOLDS)
    .where(_HOLDS.c.id == bindparam("hold_id"), _HOLDS.c.status == bindparam("old"))
    .values(status=bindparam("new"), actual=bindparam("actual_amount", type_=BigInteger))
    .returning(_HOLDS.c.lines, _HOLDS.c.amount)
)
#: A settled or returned hold applied to one of its lines.
_APPLY_LINE = (
    update(_LINES)
    .where(_LINES.c.key == bindparam("line_key"))
    .values(
        spent=_LINES.c.spent + bindparam("add_spent", type_=BigInteger),
        reserved=_LINES.c.reserved - bindparam("unreserve", type_=BigInteger),
        updated_at=bindparam("at"),
    )
)


def _new_line(key: str, cap_usd: float | None) -> dict[str, Any]:
    """The row of a new, empty line."""
    cap = None if cap_usd is None else to_nano(cap_usd, up=False)
    return {"key": key, "cap": cap, "spent": 0, "reserved": 0, "granted": True, "updated_at": _now()}


def _now() -> datetime:
    return datetime.now(UTC)


def _in_main_thread() -> bool:
    """Calls from the main thread run alone: Ctrl-C lands there, and must never interrupt a batch's lead."""
    return threading.current_thread() is threading.main_thread()


def _hold_id() -> str:
    return str(uuid.uuid4())
