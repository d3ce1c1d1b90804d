"""The soak's load balancer: TCP round robin over the replicas, with passive health checks.

Each client connection goes to the next replica in turn and stays there (HTTP keep-alive, as
with any layer-4 balancer). A replica that refuses the connection (killed, restarting) is marked
down for ``cooldown_s`` and the next one is tried at once, so a client never sees a refusal while
one replica is up; a replica marked down is still tried, last, when every other one is down too.
Bytes are copied both ways until either side closes; a replica killed under a connection closes
it, and the requests in flight on it fail as they would behind a real balancer.

:class:`Rotation` is the choice alone (pure, tested in ``tests/bench/test_soak.py``);
:class:`Balancer` is the asyncio server around it, run in the soak's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Balancer", "Rotation"]

#: Seconds to wait for a replica to accept a connection before trying the next.
CONNECT_TIMEOUT_S = 2.0
_CHUNK = 64 * 1024


@dataclass
class Rotation:
    """Which replica to try next: round robin, skipping those that refused a connection a moment ago."""

    size: int
    #: Seconds a replica that refused a connection is tried only after the others.
    cooldown_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _next: int = 0
    _down_until: dict[int, float] = field(default_factory=dict)

    def order(self) -> list[int]:
        """The replicas to try for one new connection, in order: the next in turn first, those down last."""
        start = self._next
        self._next = (self._next + 1) % self.size
        turn = [(start + i) % self.size for i in range(self.size)]
        now = self.clock()
        up = [i for i in turn if self._down_until.get(i, 0.0) <= now]
        return up + [i for i in turn if i not in up]

    def refused(self, index: int) -> None:
        """Replica ``index`` refused a connection: try it after the others for ``cooldown_s``."""
        self._down_until[index] = self.clock() + self.cooldown_s

    def accepted(self, index: int) -> None:
        """Replica ``index`` accepted a connection: it is up."""
        self._down_until.pop(index, None)


@dataclass
class BalancerStats:
    """What the balancer saw, per replica."""

    connections: list[int]
    refused: list[int]
    #: Client connections closed because no replica accepted.
    unrouted: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"connections": self.connections, "refused": self.refused, "unrouted": self.unrouted}


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


class Balancer:
    """A TCP balancer on ``127.0.0.1:port`` in front of ``backends`` (``(host, port)`` pairs)."""

    def __init__(self, backends: Sequence[tuple[str, int]], *, cooldown_s: float = 1.0) -> None:
        self.backends = list(backends)
        self.rotation = Rotation(len(self.backends), cooldown_s=cooldown_s)
        self.stats = BalancerStats(connections=[0] * len(self.backends), refused=[0] * len(self.backends))
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self, port: int) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port, backlog=512)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for index in self.rotation.order():
            try:
                opened = await asyncio.wait_for(asyncio.open_connection(*self.backends[index]), CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError):
                self.rotation.refused(index)
                self.stats.refused[index] += 1
                continue
            self.rotation.accepted(index)
            self.stats.connections[index] += 1
            return opened
        return None

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._pipes.add(task)
        try:
            opened = await self._connect()
            if opened is None:
                self.stats.unrouted += 1
                client_writer.close()
                return
            replica_reader, replica_writer = opened
            await asyncio.gather(_copy(client_reader, replica_writer), _copy(replica_reader, client_writer))
        finally:
            if task is not None:
                self._pipes.discard(task)

    async def close(self) -> None:
        """Stop listening and cut every connection still open."""
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        for task in list(self._pipes):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
