"""A local HTTP server that speaks a provider's wire format, for adapter tests (no network).

A handler answers with a JSON body, or with a list of :class:`Sse` events, which the server sends as
a ``text/event-stream`` in chunks. :data:`Cut.HANG_UP` in that list drops the connection there, in
the middle of the chunked body, as a server that died mid-stream would.
"""

from __future__ import annotations

import enum
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Sse:
    """One server-sent event: ``data`` goes out as JSON unless it is already a string."""

    data: Any
    event: str | None = None

    def encode(self) -> bytes:
        data = self.data if isinstance(self.data, str) else json.dumps(self.data)
        head = f"event: {self.event}\n" if self.event else ""
        return f"{head}data: {data}\n\n".encode()


class Cut(enum.Enum):
    """Markers in an event list."""

    #: Drop the connection here, before the stream is complete.
    HANG_UP = "hang up"


#: A JSON body, or the events of a stream.
Body = dict[str, Any] | list[Sse | Cut]
#: ``(path, headers, body) -> (status, headers, body)``.
Handler = Callable[[str, dict[str, str], dict[str, Any]], tuple[int, dict[str, str], Body]]


def replying(events: list[Sse | Cut]) -> Handler:
    """A handler that answers every request with the stream ``events``."""

    def handler(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
        return 200, {}, events

    return handler


@contextmanager
def serve(handler: Handler) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Run ``handler`` on 127.0.0.1; yields the base URL and the requests received."""
    seen: list[dict[str, Any]] = []

    class Requests(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            seen.append({"path": self.path, "headers": headers, "body": body})
            status, extra, payload = handler(self.path, headers, body)
            if isinstance(payload, list):
                self._send_events(status, extra, payload)
                return
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _send_events(self, status: int, extra: dict[str, str], events: list[Sse | Cut]) -> None:
            self.protocol_version = "HTTP/1.1"  # chunked encoding, so that a hang-up shows
            self.send_response(status)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.send_header("connection", "close")
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            for event in events:
                if event is Cut.HANG_UP:
                    return
                data = event.encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args: object) -> None:  # keep test output quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Requests)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
