"""A local HTTP server that speaks a provider's wire format, for adapter tests (no network)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: ``(path, headers, body) -> (status, headers, body)``.
Handler = Callable[[str, dict[str, str], dict[str, Any]], tuple[int, dict[str, str], dict[str, Any]]]


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
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:  # keep test output quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Requests)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
