"""The fake OpenAI upstream: a tiny asyncio HTTP/1.1 server answering chat completions at once.

    python -m bench.proxy_overhead._upstream --port 9001

``POST /v1/chat/completions`` answers a fixed small non-streamed completion (with ``usage``) for the
request's model, after the delay in force (0 ms unless set); ``GET /v1/models`` lists that model.
Two control routes serve the benchmark: ``GET /stats`` gives the number of completions served, and
``POST /control`` with ``{"delay_ms": 20}`` sets the delay. Keep-alive, ``Content-Length`` or
chunked request bodies; no pipelining beyond answering requests in order. A bare protocol on the
event loop (uvloop when installed) rather than a framework, so that it is never the bottleneck: it
costs a few tens of microseconds of CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from typing import Any, cast

__all__ = ["serve"]

_ANSWER = "The answer is 42."
_PROMPT_TOKENS, _COMPLETION_TOKENS = 24, 6


class _Server:
    """What all connections share: the delay in force, the count of completions, and cached bodies."""

    def __init__(self) -> None:
        self.delay_s = 0.0
        self.completions = 0
        self._bodies: dict[str, bytes] = {}

    def completion(self, model: str) -> bytes:
        body = self._bodies.get(model)
        if body is None:
            body = json.dumps(
                {
                    "id": "chatcmpl-bench",
                    "object": "chat.completion",
                    "created": 1_700_000_000,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": _ANSWER, "refusal": None},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": _PROMPT_TOKENS,
                        "completion_tokens": _COMPLETION_TOKENS,
                        "total_tokens": _PROMPT_TOKENS + _COMPLETION_TOKENS,
                    },
                    "system_fingerprint": None,
                },
                separators=(",", ":"),
            ).encode()
            if len(self._bodies) < 64:
                self._bodies[model] = body
        return body


def _response(status: int, body: bytes) -> bytes:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: keep-alive\r\n\r\n"
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
                model = str(json.loads(body).get("model", "bench"))
            except (ValueError, AttributeError):
                self._send(_response(400, b'{"error":{"message":"bad JSON","type":"invalid_request_error"}}'))
                return
            server.completions += 1
            answer = _response(200, server.completion(model))
            if server.delay_s > 0:
                asyncio.get_running_loop().call_later(server.delay_s, self._send, answer)
            else:
                self._send(answer)
        elif method == "GET" and path.endswith("/models"):
            models = {"object": "list", "data": [{"id": "gpt-4.1-nano", "object": "model", "owned_by": "bench"}]}
            self._send(_response(200, json.dumps(models).encode()))
        elif method == "GET" and path == "/stats":
            self._send(_response(200, json.dumps({"completions": server.completions}).encode()))
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


async def serve(host: str, port: int) -> None:
    """Answer on ``host:port`` until cancelled."""
    server = _Server()
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
    args = parser.parse_args(argv)
    _event_loop_runner()(serve(args.host, args.port))


if __name__ == "__main__":
    main()
