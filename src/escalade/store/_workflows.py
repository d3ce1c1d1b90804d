"""Submitted escalation workflows in the store's database: their state, and who runs them until when.

A workflow is ``queued`` when submitted, ``running`` while a process holds its **lease**, then
``completed``, ``failed`` or ``cancelled``. Every change of state is **one conditional UPDATE**, so
that two processes (two replicas, or a resumed run racing a late one) never both win:

- :meth:`WorkflowRepository.claim`: ``queued`` → ``running``, or ``running`` with an expired lease
  → ``running`` again under the new owner, ``attempts + 1``; at most ``max_attempts`` starts;
- :meth:`WorkflowRepository.renew`: the owner extends its lease while it runs, and learns whether
  a cancel was asked for;
- :meth:`WorkflowRepository.finish`: only the owner, only while it runs;
- :meth:`WorkflowRepository.release`: the owner gives it back unfinished (its process shuts down);
- :meth:`WorkflowRepository.cancel`: ``queued`` → ``cancelled`` at once; ``running`` → cancel
  requested (the owner stops at its next renewal and marks it cancelled);
- :meth:`WorkflowRepository.expire`: a workflow whose owner stopped ``max_attempts`` times fails
  visibly ("the process running it stopped N times"); a cancelled one whose owner died is cancelled.

>>> from escalade.store import Database
>>> repo = WorkflowRepository(Database("sqlite://"))
>>> made = repo.submit("acme", {"task_description": "fix a typo"})
>>> made.state, repo.claim(made.id, owner="r1", lease_s=30).attempts
('queued', 1)
>>> repo.finish(made.id, owner="r1", state="completed", result={"tier": "cheap"})
True
>>> repo.get(made.id, workspace="acme").state, repo.get(made.id, workspace="other")
('completed', None)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Literal, cast, overload

from sqlalchemy import Table, and_, case, false, func, or_, select, text, true, update

from escalade.exceptions import StoreError
from escalade.store._engine import Database
from escalade.store._models import WorkflowRow
from escalade.store._transactions import transaction
from escalade.store._workspaces import check_workspace_name

__all__ = ["FINISHED_STATES", "Workflow", "WorkflowRepository", "WorkflowState"]

#: The states a workflow goes through.
WorkflowState = Literal["queued", "running", "completed", "failed", "cancelled"]
#: States a workflow never leaves.
FINISHED_STATES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
#: How many times a workflow may be started before it fails (its runners kept dying).
DEFAULT_MAX_ATTEMPTS = 3
_T = cast(Table, WorkflowRow.__table__)


@dataclass(frozen=True, kw_only=True)
class Workflow:
    """One stored workflow (see the module docstring for its states)."""

    id: str
    workspace: str
    state: str
    request: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    cancel_requested: bool
    attempts: int
    owner: str | None
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        """Completed, failed or cancelled: it never changes again."""
        return self.state in FINISHED_STATES


def _utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (SQLite gives naive ones back)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _workflow(row: Any) -> Workflow:
    created, updated = _utc(row.created_at), _utc(row.updated_at)
    assert created is not None
    assert updated is not None
    return Workflow(
        id=row.id,
        workspace=row.workspace,
        state=row.state,
        request=dict(row.request),
        result=None if row.result is None else dict(row.result),
        error=row.error,
        cancel_requested=bool(row.cancel_requested),
        attempts=int(row.attempts),
        owner=row.owner,
        lease_until=_utc(row.lease_until),
        created_at=created,
        updated_at=updated,
        started_at=_utc(row.started_at),
        finished_at=_utc(row.finished_at),
    )


class WorkflowRepository:
    """Workflows and their leases (see the module docstring); ``clock`` gives the current time."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db = db
        self.clock = clock

    def _write(self, what: str) -> Any:
        return transaction(self.db.engine, what=what)

    @overload
    def submit(self, workspace: str, request: Mapping[str, Any]) -> Workflow: ...

    @overload
    def submit(self, workspace: str, request: Mapping[str, Any], *, max_open: int) -> Workflow | None: ...

    def submit(self, workspace: str, request: Mapping[str, Any], *, max_open: int | None = None) -> Workflow | None:
        """Store a new ``queued`` workflow of ``workspace`` with its ``request`` (JSON-ready).

        ``None`` (nothing stored) when the workspace already has ``max_open`` workflows queued or
        running; counted in the same transaction as the insert, which holds the workspace's
        submission lock (SQLite's write lock; on PostgreSQL a transaction-scoped advisory lock on the
        workspace), so submissions arriving together never pass the bound.
        """
        check_workspace_name(workspace)
        now = self.clock()
        values = {
            "id": str(uuid.uuid4()),
            "workspace": workspace,
            "state": "queued",
            "request": dict(request),
            "result": None,
            "error": None,
            "cancel_requested": False,
            "attempts": 0,
            "owner": None,
            "lease_until": None,
            "created_at": now,
            "updated_at": now,
            "started_at": None,
            "finished_at": None,
        }
        with self._write("submit a workflow") as conn:
            if max_open is not None:
                if conn.dialect.name == "postgresql":
                    lock = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
                    conn.execute(lock, {"key": f"escalade.workflows:{workspace}"})
                is_open = _T.c.state.in_(("queued", "running"))
                open_now = select(func.count()).where(_T.c.workspace == workspace, is_open)
                if int(conn.scalar(open_now) or 0) >= max_open:
                    return None
            conn.execute(_T.insert().values(**values))
        return _workflow(SimpleNamespace(**values))

    def get(self, workflow_id: str, *, workspace: str | None) -> Workflow | None:
        """The workflow (only if it belongs to ``workspace``, unless that is ``None``), or ``None``."""
        query = select(_T).where(_T.c.id == workflow_id)
        if workspace is not None:
            query = query.where(_T.c.workspace == workspace)
        with transaction(self.db.engine, write=False, what="read a workflow") as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else _workflow(row)

    def claim(
        self, workflow_id: str, *, owner: str, lease_s: float, max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ) -> Workflow | None:
        """Start it under ``owner`` for ``lease_s`` seconds; ``None`` when it is not free to start.

        Free: ``queued``, or ``running`` with an expired lease (its owner stopped), fewer than
        ``max_attempts`` starts so far and no cancel asked for.
        """
        now = self.clock()
        free = or_(_T.c.state == "queued", and_(_T.c.state == "running", _T.c.lease_until < now))
        stmt = (
            update(_T)
            .where(_T.c.id == workflow_id, free, _T.c.attempts < max_attempts, _T.c.cancel_requested == false())
            .values(
                state="running",
                owner=owner[:200],
                lease_until=now + timedelta(seconds=lease_s),
                attempts=_T.c.attempts + 1,
                started_at=func.coalesce(_T.c.started_at, now),
                updated_at=now,
            )
            .returning(*_T.c)
        )
        with self._write("claim a workflow") as conn:
            row = conn.execute(stmt).one_or_none()
        return None if row is None else _workflow(row)

    def renew(self, workflow_id: str, *, owner: str, lease_s: float) -> bool | None:
        """Extend ``owner``'s lease; whether a cancel was asked for, or ``None`` when it lost the workflow."""
        now = self.clock()
        stmt = (
            update(_T)
            .where(_T.c.id == workflow_id, _T.c.owner == owner, _T.c.state == "running")
            .values(lease_until=now + timedelta(seconds=lease_s), updated_at=now)
            .returning(_T.c.cancel_requested)
        )
        with self._write("renew a workflow's lease") as conn:
            row = conn.execute(stmt).one_or_none()
        return None if row is None else bool(row.cancel_requested)

    def finish(
        self,
        workflow_id: str,
        *,
        owner: str,
        state: WorkflowState,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """End a running workflow of ``owner`` in ``state``; whether it was still ``owner``'s to end."""
        if state not in FINISHED_STATES:
            raise StoreError(f"a workflow finishes completed, failed or cancelled, not {state!r}")
        now = self.clock()
        stmt = (
            update(_T)
            .where(_T.c.id == workflow_id, _T.c.owner == owner, _T.c.state == "running")
            .values(
                state=state,
                result=None if result is None else dict(result),
                error=None if error is None else error[:2000],
                lease_until=None,
                finished_at=now,
                updated_at=now,
            )
        )
        with self._write("finish a workflow") as conn:
            return bool(conn.execute(stmt).rowcount)

    def release(self, workflow_id: str, *, owner: str) -> bool:
        """Give back a running workflow ``owner`` stops without finishing (its process shuts down).

        It is ``queued`` again, the start not counted (``cancelled`` if a cancel was asked for);
        whether it was ``owner``'s to give back.
        """
        now = self.clock()
        stmt = (
            update(_T)
            .where(_T.c.id == workflow_id, _T.c.owner == owner, _T.c.state == "running")
            .values(
                state=case((_T.c.cancel_requested == true(), "cancelled"), else_="queued"),
                owner=None,
                lease_until=None,
                attempts=_T.c.attempts - 1,
                finished_at=case((_T.c.cancel_requested == true(), now), else_=None),
                updated_at=now,
            )
        )
        with self._write("release a workflow") as conn:
            return bool(conn.execute(stmt).rowcount)

    def cancel(self, workflow_id: str, *, workspace: str) -> tuple[Workflow, bool] | None:
        """Cancel it: ``(workflow, changed)``, ``changed`` false when it had finished; ``None``: no such workflow."""
        now = self.clock()
        mine = and_(_T.c.id == workflow_id, _T.c.workspace == workspace)
        at_once = (
            update(_T)
            .where(mine, _T.c.state == "queued")
            .values(state="cancelled", cancel_requested=True, finished_at=now, updated_at=now)
        )
        asked = update(_T).where(mine, _T.c.state == "running").values(cancel_requested=True, updated_at=now)
        with self._write("cancel a workflow") as conn:
            changed = bool(conn.execute(at_once).rowcount) or bool(conn.execute(asked).rowcount)
            row = conn.execute(select(_T).where(mine)).one_or_none()
        return None if row is None else (_workflow(row), changed)

    def expire(self, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> int:
        """End workflows whose owner stopped for good: failed after ``max_attempts`` starts, or cancelled
        when a cancel was asked for. How many were ended."""
        now = self.clock()
        stale = and_(_T.c.state == "running", _T.c.lease_until < now)
        cancelled = (
            update(_T)
            .where(stale, _T.c.cancel_requested == true())
            .values(state="cancelled", lease_until=None, finished_at=now, updated_at=now)
        )
        failed = (
            update(_T)
            .where(stale, _T.c.attempts >= max_attempts)
            .values(
                state="failed",
                error=f"the process running it stopped {max_attempts} times (attempts: {max_attempts})",
                lease_until=None,
                finished_at=now,
                updated_at=now,
            )
        )
        with self._write("expire workflows") as conn:
            return int(conn.execute(cancelled).rowcount) + int(conn.execute(failed).rowcount)

    def resumable(self, *, limit: int = 1000) -> list[str]:
        """Ids of workflows waiting for a process: ``queued``, or ``running`` with an expired lease; oldest first."""
        now = self.clock()
        waiting = or_(_T.c.state == "queued", and_(_T.c.state == "running", _T.c.lease_until < now))
        query = select(_T.c.id).where(waiting).order_by(_T.c.created_at).limit(limit)
        with transaction(self.db.engine, write=False, what="list resumable workflows") as conn:
            return list(conn.scalars(query))

    def counts(self, workspace: str) -> dict[str, int]:
        """How many workflows of ``workspace`` are in each state."""
        query = select(_T.c.state, func.count()).where(_T.c.workspace == workspace).group_by(_T.c.state)
        with transaction(self.db.engine, write=False, what="count workflows") as conn:
            return {str(state): int(n) for state, n in conn.execute(query)}

    def results(self, workspace: str, *, limit: int = 10_000) -> list[dict[str, Any]]:
        """The results of ``workspace``'s completed workflows, newest first (at most ``limit``)."""
        query = (
            select(_T.c.result)
            .where(_T.c.workspace == workspace, _T.c.state == "completed")
            .order_by(_T.c.finished_at.desc())
            .limit(limit)
        )
        with transaction(self.db.engine, write=False, what="read workflow results") as conn:
            return [dict(r) for r in conn.scalars(query) if isinstance(r, dict)]
