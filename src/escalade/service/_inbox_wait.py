"""Waiting for a person's answer over HTTP: one long-poll answer, or a stream of server-sent events.

Both poll the store (every :data:`POLL_S`), so an answer given on another replica is seen. The body
of each answer, and the ``data`` of each event, is :func:`waited`: the item's state, whether that is
final (``done``), the answer and who gave it. The stream sends ``event: state`` whenever the state
changes, a comment line every :data:`KEEPALIVE_S` so proxies keep the connection, and ends with
``event: done`` (answered or expired) or ``event: timeout``; it also ends when the client goes away.
A process serves at most :data:`MAX_WAITERS` waits at once, and :data:`MAX_WAITERS_PER_WORKSPACE`
of one workspace; past that a wait is a 429. The reads run on :data:`READ_THREADS` threads of their
own, so waiting agents never hold up other requests.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from escalade.inbox import FINAL_STATES, InboxItem
from escalade.service._errors import ApiError
from escalade.service._state import ServiceState

__all__ = [
    "KEEPALIVE_S",
    "MAX_LONG_POLL_S",
    "MAX_STREAM_S",
    "MAX_WAITERS",
    "MAX_WAITERS_PER_WORKSPACE",
    "POLL_S",
    "READ_THREADS",
    "WaitStream",
    "events",
    "long_poll",
    "take_slot",
    "waited",
]

#: Seconds between two reads of the item.
POLL_S = 0.5
#: Longest one long-poll request waits (clients and proxies time out beyond a few minutes).
MAX_LONG_POLL_S = 300.0
#: Longest one event stream stays open.
MAX_STREAM_S = 3600.0
#: Seconds between keep-alive comments on a stream.
KEEPALIVE_S = 15.0
#: Waits (long polls and streams) one process serves at once, and of them one workspace's.
MAX_WAITERS, MAX_WAITERS_PER_WORKSPACE = 500, 100
#: Threads that read waited items (shared by every wait of the process).
READ_THREADS = 4


def waited(item: InboxItem) -> dict[str, Any]:
    """What a waiting agent is told about ``item``."""
    answered = item.answered_at.isoformat() if item.answered_at is not None else None
    return {
        "id": item.id,
        "decision_id": item.decision_id,
        "state": item.state.value,
        "done": item.state in FINAL_STATES,
        "answer": dict(item.response) if item.response is not None else None,
        "answered_by": item.answered_by,
        "answered_at": answered,
        "assignees": list(item.assignees),
    }


def take_slot(state: ServiceState, workspace: str) -> Callable[[], None]:
    """Take one of the process's :data:`MAX_WAITERS` wait slots, and one of the workspace's
    :data:`MAX_WAITERS_PER_WORKSPACE` (a 429 when none is free); the function returned gives them
    back (once, however often it is called)."""
    lock, counts = state.parts.setdefault("waiters", (threading.Lock(), Counter[str]()))
    with lock:
        if counts.total() >= MAX_WAITERS or counts[workspace] >= MAX_WAITERS_PER_WORKSPACE:
            raise ApiError(
                429,
                "too many waits at once on this replica; try again",
                type="rate_limit_error",
                headers={"Retry-After": "1"},
            )
        counts[workspace] += 1
    given_back = threading.Event()

    def release() -> None:
        with lock:
            if not given_back.is_set():
                given_back.set()
                counts[workspace] -= 1

    return release


def _reader(state: ServiceState) -> anyio.CapacityLimiter:
    """The threads that read waited items: their own, so waits never take the routes' threads."""
    found = state.parts.get("wait_reader")
    if not isinstance(found, anyio.CapacityLimiter):
        found = state.parts["wait_reader"] = anyio.CapacityLimiter(READ_THREADS)
    return found


class WaitStream(StreamingResponse):
    """A stream of wait events that gives its slot back however it ends, even if it never starts."""

    def __init__(self, content: AsyncIterator[str], release: Callable[[], None]) -> None:
        super().__init__(
            content, media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def long_poll(
    state: ServiceState, read: Callable[[], InboxItem], *, timeout_s: float, gone: Callable[[], Awaitable[bool]]
) -> InboxItem:
    """The item once final, or as it is after ``timeout_s`` (or when the client goes away)."""
    deadline = time.monotonic() + timeout_s
    while True:
        item = await anyio.to_thread.run_sync(read, limiter=_reader(state))
        left = deadline - time.monotonic()
        if item.state in FINAL_STATES or left <= 0 or await gone():
            return item
        await anyio.sleep(min(POLL_S, left))


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def events(
    state: ServiceState,
    read: Callable[[], InboxItem],
    *,
    timeout_s: float,
    gone: Callable[[], Awaitable[bool]],
) -> AsyncIterator[str]:
    """The event stream of the item ``read`` returns (see the module docstring); ``gone`` says whether
    the client left."""
    deadline = time.monotonic() + timeout_s
    last_state, last_sent = None, time.monotonic()
    while True:
        item = await anyio.to_thread.run_sync(read, limiter=_reader(state))
        now = time.monotonic()
        if item.state != last_state:
            last_state, last_sent = item.state, now
            yield _event("state", waited(item))
        if item.state in FINAL_STATES:
            yield _event("done", waited(item))
            return
        if now >= deadline:
            yield _event("timeout", waited(item))
            return
        if now - last_sent >= KEEPALIVE_S:
            last_sent = now
            yield ": keep-alive\n\n"
        if await gone():
            return
        await anyio.sleep(min(POLL_S, max(0.0, deadline - now)))
