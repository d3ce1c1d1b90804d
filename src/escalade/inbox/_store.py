"""Where inbox items live: the :class:`InboxStore` interface and :class:`MemoryInboxStore`.

The SQL store (:class:`escalade.store.SqlInboxStore`) keeps them in the database, shared by every
process and replica. Every change of state is a compare-and-set: :meth:`InboxStore.move` changes an
item only if it is still in one of the states the caller saw, so two people answering the same
item at once get one success and one refusal, never two answers.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from escalade.exceptions import InboxError
from escalade.inbox._items import InboxItem, InboxState

__all__ = ["InboxStore", "MemoryInboxStore"]


class InboxStore(Protocol):
    """Keeps inbox items (see the module docstring)."""

    def add_item(self, item: InboxItem) -> None:
        """Keep a new item (an :class:`InboxError` when its decision already has one)."""
        ...

    def get_item(self, workspace: str, item_id: str) -> InboxItem | None:
        """The item, or ``None``."""
        ...

    def item_of_decision(self, workspace: str, decision_id: str) -> InboxItem | None:
        """The item of a decision, or ``None``."""
        ...

    def items(self, workspace: str, *, states: Collection[InboxState] = (), limit: int = 1000) -> list[InboxItem]:
        """The workspace's items (only in ``states``, if given), oldest first, at most ``limit``."""
        ...

    def answered_by(
        self, workspace: str, person: str, *, since: datetime | None = None, limit: int = 1000
    ) -> list[InboxItem]:
        """The items ``person`` answered (created at or after ``since``, if given), newest first, at most ``limit``."""
        ...

    def move(
        self, workspace: str, item_id: str, *, expected: Collection[InboxState], state: InboxState, **changes: Any
    ) -> InboxItem | None:
        """Put the item in ``state`` with ``changes`` if it is in one of ``expected``; the new item, or ``None``."""
        ...


class MemoryInboxStore:
    """An :class:`InboxStore` in one process's memory (tests, notebooks)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], InboxItem] = {}
        self._lock = threading.Lock()

    def add_item(self, item: InboxItem) -> None:
        with self._lock:
            if self._find(item.workspace, item.decision_id) is not None:
                raise InboxError(f"decision {item.decision_id!r} already has an inbox item", item_id=item.id)
            self._items[(item.workspace, item.id)] = item

    def _find(self, workspace: str, decision_id: str) -> InboxItem | None:
        return next((i for (w, _), i in self._items.items() if w == workspace and i.decision_id == decision_id), None)

    def get_item(self, workspace: str, item_id: str) -> InboxItem | None:
        return self._items.get((workspace, item_id))

    def item_of_decision(self, workspace: str, decision_id: str) -> InboxItem | None:
        with self._lock:
            return self._find(workspace, decision_id)

    def items(self, workspace: str, *, states: Collection[InboxState] = (), limit: int = 1000) -> list[InboxItem]:
        with self._lock:
            found = [i for (w, _), i in self._items.items() if w == workspace and (not states or i.state in states)]
        return sorted(found, key=lambda i: (i.created_at, i.id))[:limit]

    def answered_by(
        self, workspace: str, person: str, *, since: datetime | None = None, limit: int = 1000
    ) -> list[InboxItem]:
        with self._lock:
            found = [
                i
                for (w, _), i in self._items.items()
                if w == workspace
                and i.state is InboxState.ANSWERED
                and i.answered_by == person
                and (since is None or i.created_at >= since)
            ]
        return sorted(found, key=lambda i: (i.created_at, i.id), reverse=True)[: max(0, limit)]

    def move(
        self, workspace: str, item_id: str, *, expected: Collection[InboxState], state: InboxState, **changes: Any
    ) -> InboxItem | None:
        with self._lock:
            found = self._items.get((workspace, item_id))
            if found is None or found.state not in expected:
                return None
            moved = replace(found, state=state, **changes)
            self._items[(workspace, item_id)] = moved
            return moved
