"""Inbox items in the store's database: an :class:`~escalade.inbox.InboxStore` shared by every process.

Every change of state is one conditional UPDATE (``WHERE id = :id AND state IN (:expected)``), so of
two people answering an item at the same moment on two replicas, one changes it and the other is
told it changed; a decision has at most one item (a unique constraint, not a read-then-insert).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from escalade.autonomy import DecisionType, Priority
from escalade.exceptions import DatabaseError, InboxError
from escalade.inbox import InboxItem, InboxState
from escalade.store._engine import Database
from escalade.store._models import InboxItemRow
from escalade.store._transactions import transaction

__all__ = ["SqlInboxStore"]

_T = cast(Table, InboxItemRow.__table__)
#: Fields kept in the ``body`` JSON (what an item is); the rest have columns (what changes).
_BODY = (
    "type",
    "description",
    "reasons",
    "rule_hits",
    "recommendation",
    "confidence",
    "forced",
    "affected_files",
    "affected_systems",
    "environment",
    "workflow",
    "classification",
)
#: Fields :meth:`SqlInboxStore.move` may change.
_MOVABLE = frozenset({"assignees", "not_before", "batch_id", "sent_at", "answered_at", "answered_by", "response"})


def _aware(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back: they were stored in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _utc(value: Any) -> Any:
    """A datetime in UTC (SQLite keeps a datetime's digits and drops its offset), anything else as it is."""
    return value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo is not None else value


def _row(item: InboxItem) -> dict[str, Any]:
    body = item.to_dict()
    return {
        "id": item.id,
        "workspace": item.workspace,
        "decision_id": item.decision_id,
        "state": item.state.value,
        "priority": item.priority.value,
        "assignees": list(item.assignees),
        "body": {name: body[name] for name in _BODY},
        "created_at": _utc(item.created_at),
        "expires_at": _utc(item.expires_at),
        "not_before": _utc(item.not_before),
        "batch_id": item.batch_id,
        "sent_at": _utc(item.sent_at),
        "answered_at": _utc(item.answered_at),
        "answered_by": item.answered_by,
        "response": dict(item.response) if item.response is not None else None,
    }


def _item(row: Any) -> InboxItem:
    body: Mapping[str, Any] = row.body
    return InboxItem(
        id=row.id,
        workspace=row.workspace,
        decision_id=row.decision_id,
        state=InboxState(row.state),
        priority=Priority(row.priority),
        type=DecisionType(body["type"]),
        description=str(body["description"]),
        reasons=tuple(body["reasons"]),
        rule_hits=tuple(body["rule_hits"]),
        recommendation=str(body["recommendation"]),
        confidence=float(body["confidence"]),
        forced=bool(body["forced"]),
        affected_files=tuple(body["affected_files"]),
        affected_systems=tuple(body["affected_systems"]),
        environment=body.get("environment"),
        workflow=body.get("workflow"),
        assignees=tuple(row.assignees),
        created_at=cast(datetime, _aware(row.created_at)),
        expires_at=_aware(row.expires_at),
        not_before=_aware(row.not_before),
        batch_id=row.batch_id,
        sent_at=_aware(row.sent_at),
        answered_at=_aware(row.answered_at),
        answered_by=row.answered_by,
        response=row.response,
        classification=dict(body.get("classification") or {}),
    )


class SqlInboxStore:
    """Inbox items in ``db`` (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_item(self, item: InboxItem) -> None:
        try:
            with transaction(self.db.engine, what="add an inbox item") as conn:
                conn.execute(insert(_T), _row(item))
        except DatabaseError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise InboxError(f"decision {item.decision_id!r} already has an inbox item", item_id=item.id) from None
            raise

    def get_item(self, workspace: str, item_id: str) -> InboxItem | None:
        return self._one(select(_T).where(_T.c.workspace == workspace, _T.c.id == item_id))

    def item_of_decision(self, workspace: str, decision_id: str) -> InboxItem | None:
        return self._one(select(_T).where(_T.c.workspace == workspace, _T.c.decision_id == decision_id))

    def _one(self, query: Any) -> InboxItem | None:
        with transaction(self.db.engine, write=False, what="read an inbox item") as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else _item(row)

    def items(self, workspace: str, *, states: Collection[InboxState] = (), limit: int = 1000) -> list[InboxItem]:
        query = select(_T).where(_T.c.workspace == workspace)
        if states:
            query = query.where(_T.c.state.in_([s.value for s in states]))
        query = query.order_by(_T.c.created_at, _T.c.id).limit(max(0, min(limit, 10_000)))
        with transaction(self.db.engine, write=False, what="list inbox items") as conn:
            return [_item(r) for r in conn.execute(query)]

    def answered_by(
        self, workspace: str, person: str, *, since: datetime | None = None, limit: int = 1000
    ) -> list[InboxItem]:
        """Read along ``ix_inbox_items_workspace_state`` backwards (newest first), ``limit`` at most 10,000."""
        query = select(_T).where(
            _T.c.workspace == workspace, _T.c.state == InboxState.ANSWERED.value, _T.c.answered_by == person
        )
        if since is not None:
            query = query.where(_T.c.created_at >= since)
        query = query.order_by(_T.c.created_at.desc(), _T.c.id.desc()).limit(max(0, min(limit, 10_000)))
        with transaction(self.db.engine, write=False, what="list a person's answered inbox items") as conn:
            return [_item(r) for r in conn.execute(query)]

    def move(
        self, workspace: str, item_id: str, *, expected: Collection[InboxState], state: InboxState, **changes: Any
    ) -> InboxItem | None:
        unknown = set(changes) - _MOVABLE
        if unknown:
            raise InboxError(f"cannot change {', '.join(sorted(unknown))} of an inbox item", item_id=item_id)
        values: dict[str, Any] = {"state": state.value, **{k: _utc(v) for k, v in changes.items()}}
        if "assignees" in values:
            values["assignees"] = list(values["assignees"])
        if "response" in values and values["response"] is not None:
            values["response"] = dict(values["response"])
        stmt = (
            update(_T)
            .where(_T.c.workspace == workspace, _T.c.id == item_id, _T.c.state.in_([s.value for s in expected]))
            .values(**values)
        )
        with transaction(self.db.engine, what="change an inbox item") as conn:
            if conn.execute(stmt).rowcount != 1:
                return None
            row = conn.execute(select(_T).where(_T.c.id == item_id)).one()
        return _item(row)
