"""What a process read from the database a moment ago: a small cache whose entries live ``ttl_s`` seconds.

Each request needs its key's workspace, the workspace's preferences and budget caps and its upstream
key: four reads of rows that change rarely, by an administrator. A :class:`Recent` keeps each for a
second (``escalade serve --cache-ttl``), so a busy server reads them about once a second per
workspace instead of on every request. What this process changes itself (through the admin API) is
forgotten at once; a change made on another replica, or with the CLI, applies here within
``ttl_s``. ``ttl_s=0`` keeps nothing: every request reads the database.

>>> recent = Recent[str, int](ttl_s=60)
>>> recent.get("a", lambda: 1), recent.get("a", lambda: 2)
(1, 1)
>>> recent.forget("a"); recent.get("a", lambda: 3)
3
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Recent"]

_K = TypeVar("_K")
_V = TypeVar("_V")


class Recent(Generic[_K, _V]):
    """Values by key, each kept ``ttl_s`` seconds after it was loaded; at most ``max_entries`` of them."""

    def __init__(self, *, ttl_s: float, max_entries: int = 4096, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[_K, tuple[float, _V]] = {}
        #: Bumped by every forget and clear: a value loaded across one is not kept (it may be stale).
        self._generation = 0
        self._lock = threading.Lock()

    def get(self, key: _K, load: Callable[[], _V]) -> _V:
        """The value kept for ``key``, or ``load()``'s (kept from now on); an error of ``load`` is not kept."""
        if self.ttl_s <= 0:
            return load()
        now = self._clock()
        with self._lock:
            found = self._entries.get(key)
            generation = self._generation
        if found is not None and found[0] > now:
            return found[1]
        value = load()
        with self._lock:
            if generation != self._generation:  # forgotten while it loaded: the value may predate the change
                return value
            self._entries.pop(key, None)
            if len(self._entries) >= self.max_entries:  # the oldest first: insertion order
                for stale in list(self._entries)[: max(1, self.max_entries // 8)]:
                    del self._entries[stale]
            self._entries[key] = (now + self.ttl_s, value)
        return value

    def forget(self, key: _K) -> None:
        """Read ``key`` from the database next time."""
        with self._lock:
            self._entries.pop(key, None)
            self._generation += 1

    def clear(self) -> None:
        """Read everything from the database next time."""
        with self._lock:
            self._entries.clear()
            self._generation += 1
