"""The fake OpenAI upstream: a tiny asyncio HTTP/1.1 server answering chat completions at once.

    python -m bench.proxy_overhead._upstream --port 9001
    python -m bench.proxy_overhead._upstream --port 9001 --median-ms 120 --sigma 0.6 \
        --server-errors 0.03 --rate-limits 0.03 --retry-after 1 --seed 7      # as bench/soak runs it

``POST /v1/chat/completions`` answers a fixed small non-streamed completion (with ``usage``) for the
request's model, after the delay in force (0 ms unless set); ``GET /v1/models`` lists that model.
Two control routes serve the benchmark: ``GET /stats`` gives the number of completions asked for
(and of the errors among them), and ``POST /control`` with ``{"delay_ms": 20}`` sets the delay.

With ``--median-ms``, each answer's delay is drawn from a log-normal distribution instead (that
median, shape ``--sigma``, at most ``--max-ms``), and a share of the requests is answered with an
error instead of a completion: ``--server-errors`` (500 or 503, OpenAI's error body) and
``--rate-limits`` (429 with ``Retry-After: --retry-after``), drawn from ``--seed``. With
``--answer-tokens N``, each completion is N/10 to N words long (never more than the request's
``max_tokens``), and its ``usage`` counts them and a quarter of the prompt's characters, so that
calls cost what answers of that length cost (never more than escalade's worst-case bound). Every
option defaults to off, so that ``bench/proxy_overhead`` measures the plain server. Keep-alive, ``Content-Length`` or
chunked request bodies; no pipelining beyond answering requests in order. A bare protocol on the
event loop (uvloop when installed) rather than a framework, so that it is never the bottleneck: it
costs a few tens of microseconds of CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

__all__ = ["Behaviour", "serve"]

_ANSWER = "The answer is 42."
_PROMPT_TOKENS, _COMPLETION_TOKENS = 24, 6


@dataclass(frozen=True, kw_only=True)
class Behaviour:
    """How the upstream answers: log-normal delays and a share of errors (all off by default)."""

    #: Median delay of an answer in ms (0: the fixed delay of ``/control`` instead).
    median_ms: float = 0.0
    #: Shape of the log-normal delay (the standard deviation of its logarithm).
    sigma: float = 0.5
    #: Longest delay in ms.
    max_ms: float = 5000.0
    #: Share of requests answered 500 or 503.
    server_errors: float = 0.0
    #: Share of requests answered 429 with ``Retry-After``.
    rate_limits: float = 0.0
    #: Seconds the 429's ``Retry-After`` asks for.
    retry_after_s: int = 1
    #: Longest answer in words (tokens), each drawn from N/10 to N (0: the fixed short answer).
    answer_tokens: int = 0
    seed: int = 0


_SERVER_ERROR = b'{"error":{"message":"the fake upstream failed on purpose","type":"server_error","code":null}}'
_RATE_LIMITED = b'{"error":{"message":"rate limited on purpose","type":"requests","code":"rate_limit_exceeded"}}'


class _Server:
    """What all connections share: the delay in force, the counts of requests, and cached bodies."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.random = random.Random(self.behaviour.seed)
        self.delay_s = 0.0
        self.completions = 0
        self.server_errors = 0
        self.rate_limited = 0
        self._bodies: dict[str, bytes] = {}

    def delay(self) -> float:
        """Seconds to wait before this answer."""
        b = self.behaviour
        if b.median_ms <= 0:
            return self.delay_s
        return min(b.max_ms, math.exp(self.random.gauss(math.log(b.median_ms), b.sigma))) / 1000

    def reply(self, model: str, request: dict[str, Any]) -> bytes:
        """A completion of ``request`` for ``model``, or one of the errors :attr:`behaviour` asks for."""
        b, draw = self.behaviour, self.random.random()
        if draw < b.server_errors:
            self.server_errors += 1
            return _response(self.random.choice((500, 503)), _SERVER_ERROR)
        if draw < b.server_errors + b.rate_limits:
            self.rate_limited += 1
            return _response(429, _RATE_LIMITED, extra=f"retry-after: {b.retry_after_s}\r\n")
        if b.answer_tokens > 0:
            return _response(200, self.long_completion(model, request))
        return _response(200, self.completion(model))

    def long_completion(self, model: str, request: dict[str, Any]) -> bytes:
        """A completion of N/10 to N words (at most the request's ``max_tokens``), its usage counted from it."""
        cap = int(request.get("max_completion_tokens") or request.get("max_tokens") or self.behaviour.answer_tokens)
        words = max(
            1, min(cap, self.random.randint(max(1, self.behaviour.answer_tokens // 10), self.behaviour.answer_tokens))
        )
        messages = request.get("messages") or []
        prompt = sum(len(str(m.get("content") or "")) for m in messages) // 4 + 4 * len(messages)
        return _body(model, " ".join(["word"] * words), prompt, words)

    def stats(self) -> dict[str, int]:
        return {"completions": self.completions, "server_errors": self.server_errors, "rate_limited": self.rate_limited}

    def completion(self, model: str) -> bytes:
        body = self._bodies.get(model)
        if body is None:
            body = _body(model, _ANSWER, _PROMPT_TOKENS, _COMPLETION_TOKENS)
            if len(self._bodies) < 64:
                self._bodies[model] = body
        return body


def _body(model: str, text: str, prompt_tokens: int, completion_tokens: int) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "system_fingerprint": None,
        },
        separators=(",", ":"),
    ).encode()


def _response(status: int, body: bytes, *, extra: str = "") -> bytes:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests"}.get(status, "Error")
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: keep-alive\r\n{extra}\r\n"
    )
    return head.encode("latin-1") + body


def _chunked(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """The body of a chunked message starting at ``start`` and where it ends, or ``None`` if incomplete."""
    body, at = bytearray(), start
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
        at = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n", at)
            return None if trailer_end < 0 else (bytes(body), trailer_end + 2)
        if len(buffer) < at + size + 2:
            return None
        body += buffer[at : at + size]
        at += size + 2


class _Connection(asyncio.Protocol):
    def __init__(self, server: _Server) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not its subclasses

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (request := self._next_request()) is not None:
            self._answer(*request)

    def _next_request(self) -> tuple[str, str, bytes] | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[:2]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            found = _chunked(self.buffer, end + 4)
            if found is None:
                return None
            body, stop = found
        else:
            stop = end + 4 + int(headers.get("content-length", "0"))
            if len(self.buffer) < stop:
                return None
            body = bytes(self.buffer[end + 4 : stop])
        del self.buffer[:stop]
        return method, path.split("?")[0], body

    def _answer(self, method: str, path: str, body: bytes) -> None:
        server = self.server
        if method == "POST" and path.endswith("/chat/completions"):
            try:
                request = json.loads(body)
                model = str(request.get("model", "bench"))
            except (ValueError, AttributeError):
                self._send(_response(400, b'{"error":{"message":"bad JSON","type":"invalid_request_error"}}'))
                return
            server.completions += 1
            answer, delay = server.reply(model, request), server.delay()
            if delay > 0:
                asyncio.get_running_loop().call_later(delay, self._send, answer)
            else:
                self._send(answer)
        elif method == "GET" and path.endswith("/models"):
            models = {"object": "list", "data": [{"id": "gpt-4.1-nano", "object": "model", "owned_by": "bench"}]}
            self._send(_response(200, json.dumps(models).encode()))
        elif method == "GET" and path == "/stats":
            self._send(_response(200, json.dumps(server.stats()).encode()))
        elif method == "POST" and path == "/control":
            server.delay_s = float(json.loads(body)["delay_ms"]) / 1000
            self._send(_response(200, json.dumps({"delay_ms": server.delay_s * 1000}).encode()))
        else:
            self._send(_response(404, b'{"error":{"message":"no such route","type":"not_found"}}'))

    def _send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(host: str, port: int, behaviour: Behaviour | None = None) -> None:
    """Answer on ``host:port`` until cancelled."""
    server = _Server(behaviour)
    loop = asyncio.get_running_loop()
    listening = await loop.create_server(lambda: _Connection(server), host, port, backlog=1024, reuse_address=True)
    async with listening:
        await listening.serve_forever()


def _event_loop_runner() -> Any:
    try:
        import uvloop  # noqa: PLC0415  # optional: the fastest event loop when installed
    except ImportError:
        return asyncio.run
    return uvloop.run


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.proxy_overhead._upstream", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--median-ms", type=float, default=0.0, help="log-normal delays of this median (0: off)")
    parser.add_argument("--sigma", type=float, default=0.5, help="the log-normal's shape (default 0.5)")
    parser.add_argument("--max-ms", type=float, default=5000.0, help="longest delay (default 5000)")
    parser.add_argument("--server-errors", type=float, default=0.0, help="share answered 500/503 (default 0)")
    parser.add_argument("--rate-limits", type=float, default=0.0, help="share answered 429 (default 0)")
    parser.add_argument("--retry-after", type=int, default=1, help="the 429's Retry-After in seconds (default 1)")
    parser.add_argument("--answer-tokens", type=int, default=0, help="answers of N/10 to N words (0: one short)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    behaviour = Behaviour(
        median_ms=args.median_ms,
        sigma=args.sigma,
        max_ms=args.max_ms,
        server_errors=args.server_errors,
        rate_limits=args.rate_limits,
        retry_after_s=args.retry_after,
        answer_tokens=args.answer_tokens,
        seed=args.seed,
    )
    _event_loop_runner()(serve(args.host, args.port, behaviour))


if __name__ == "__main__":
    main()
