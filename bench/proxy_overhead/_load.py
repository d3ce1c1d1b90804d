"""The load generator: one process sending the same request over a pool of keep-alive connections.

    python -m bench.proxy_overhead._load '{"url": "http://127.0.0.1:9001/v1/chat/completions", ...}'

Its one argument is a JSON spec: ``url``, ``body`` (the JSON request body), ``headers``,
``connections`` (the pool, opened before timing), ``requests`` and ``warmup`` (untimed requests
first), ``seconds`` and ``warmup_seconds`` (a closed loop sends no new request after that long, so a
slow target gets fewer requests rather than a longer run), and ``rate``: ``null`` for a closed
loop (each connection sends its next request as soon as its answer is read, so ``connections``
requests are always in flight and the rate is the highest the target holds), or requests per second
for an open loop (requests are due on a fixed schedule and each one's latency counts from when it
was due, so time spent waiting for a free connection is not hidden). It prints one JSON object:
latency percentiles in ms, throughput, and errors.

A bare HTTP/1.1 client on asyncio streams (uvloop when installed) rather than httpx or aiohttp: on
a 2-CPU machine the load generator shares the CPUs with the proxy and the upstream, and a client
that costs ~30 µs of CPU per request takes less of them (httpx costs several hundred).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

__all__ = ["run"]

_TIMEOUT_S = 30.0
#: A connection idle this long is closed and opened anew before its next request, as httpx does with
#: its keep-alive expiry: servers close idle ones (uvicorn after 5 s), and a request written to a
#: connection the server is closing fails, which would count a client artefact as the target's error.
_KEEPALIVE_EXPIRY_S = 1.0


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.used = time.perf_counter()

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send ``request``; the response's status and body."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return status, await self._chunked()
        return status, await self.reader.readexactly(int(headers.get("content-length", "0")))

    async def _chunked(self) -> bytes:
        body = bytearray()
        while True:
            size = int((await self.reader.readline()).split(b";")[0], 16)
            if size == 0:
                await self.reader.readline()
                return bytes(body)
            body += await self.reader.readexactly(size + 2)
            del body[-2:]


def _request_bytes(spec: dict[str, Any]) -> tuple[str, int, bytes]:
    url = urlsplit(spec["url"])
    body = json.dumps(spec["body"]).encode()
    headers = {
        "host": url.netloc,
        "content-type": "application/json",
        "content-length": str(len(body)),
        "connection": "keep-alive",
        **spec.get("headers", {}),
    }
    head = f"POST {url.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return url.hostname or "127.0.0.1", url.port or 80, head.encode("latin-1") + body


class _Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.first_error: str | None = None

    def record(self, started: float, status: int, body: bytes) -> None:
        if status == 200:
            self.latencies.append(time.perf_counter() - started)
        else:
            self.fail(f"HTTP {status}", body.decode(errors="replace")[:300])

    def fail(self, kind: str, detail: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if self.first_error is None:
            self.first_error = f"{kind}: {detail}"


async def _one(
    connection: _Connection | None, request: bytes, tally: _Tally, started: float, reopen: Any
) -> _Connection | None:
    """One request (on a new connection when ``connection`` is gone or expired); the connection to reuse."""
    if connection is not None and time.perf_counter() - connection.used > _KEEPALIVE_EXPIRY_S:
        connection.writer.close()
        connection = None
    try:
        if connection is None:
            connection = await reopen()
        status, body = await asyncio.wait_for(connection.exchange(request), _TIMEOUT_S)
    except (
        OSError,
        RuntimeError,
        asyncio.IncompleteReadError,
        asyncio.LimitOverrunError,
        TimeoutError,
        ValueError,
    ) as exc:
        tally.fail(type(exc).__name__, str(exc)[:300])
        if connection is not None:
            connection.writer.close()
        return None
    tally.record(started, status, body)
    connection.used = time.perf_counter()
    return connection


async def _closed(
    pool: list[_Connection], request: bytes, count: int, seconds: float, tally: _Tally, reopen: Any
) -> None:
    remaining, deadline = count, time.perf_counter() + seconds

    async def worker(connection: _Connection | None) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            connection = await _one(connection, request, tally, time.perf_counter(), reopen)

    await asyncio.gather(*(worker(c) for c in pool))


async def _open(pool: list[_Connection], request: bytes, count: int, rate: float, tally: _Tally, reopen: Any) -> None:
    idle: asyncio.LifoQueue[_Connection | None] = asyncio.LifoQueue()  # the warmest connection first
    for connection in pool:
        idle.put_nowait(connection)

    async def send(due: float) -> None:
        connection = await idle.get()
        idle.put_nowait(await _one(connection, request, tally, due, reopen))

    start = time.perf_counter()
    tasks = []
    for i in range(count):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(due)))
    await asyncio.gather(*tasks)


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``spec`` (see the module docstring) and summarise it."""
    host, port, request = _request_bytes(spec)

    async def reopen() -> _Connection:
        return _Connection(*await asyncio.open_connection(host, port))

    pool = [await reopen() for _ in range(spec["connections"])]
    rate = spec.get("rate")
    warm = _Tally()
    if spec.get("warmup"):
        await _closed(pool, request, spec["warmup"], spec["warmup_seconds"], warm, reopen)
    tally = _Tally()
    started = time.perf_counter()
    if rate is None:
        await _closed(pool, request, spec["requests"], spec["seconds"], tally, reopen)
    else:
        await _open(pool, request, spec["requests"], float(rate), tally, reopen)
    elapsed = time.perf_counter() - started
    for connection in pool:
        connection.writer.close()
    ordered = sorted(ms * 1000 for ms in tally.latencies)
    return {
        "requests": spec["requests"],
        "sent": len(ordered) + sum(tally.errors.values()),
        "warmup_sent": len(warm.latencies) + sum(warm.errors.values()),
        "ok": len(ordered),
        "errors": tally.errors,
        "first_error": tally.first_error,
        "elapsed_s": round(elapsed, 3),
        "throughput_rps": round(len(ordered) / elapsed, 1) if elapsed > 0 else None,
        "p50_ms": round(_percentile(ordered, 50), 3),
        "p90_ms": round(_percentile(ordered, 90), 3),
        "p99_ms": round(_percentile(ordered, 99), 3),
        "max_ms": round(ordered[-1], 3) if ordered else None,
        "mean_ms": round(sum(ordered) / len(ordered), 3) if ordered else None,
    }


def main(argv: Sequence[str] | None = None) -> None:
    spec = json.loads((argv if argv is not None else sys.argv[1:])[0])
    try:
        import uvloop  # noqa: PLC0415  # optional: the fastest event loop when installed

        result = uvloop.run(run(spec))
    except ImportError:
        result = asyncio.run(run(spec))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
