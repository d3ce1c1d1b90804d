"""One ASGI middleware around every request: its id, the body-size limit, the access log and the metrics.

- **request id**: a client's ``X-Request-ID`` (up to 64 of ``A-Z a-z 0-9 . _ -``) or a new one, echoed
  in the response header and in every error body;
- **body limit**: a ``Content-Length`` over the limit is refused before the body is read, and a body
  streamed without one is cut off (413) as soon as it passes the limit;
- **access log**: one JSON line per request on the ``escalade.service.access`` logger: method,
  route template, status, duration, request id, workspace key id; never a body, a query or a key;
- **metrics**: requests and latency per route template.

Written as plain ASGI rather than Starlette's ``BaseHTTPMiddleware``, which costs a task per request.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from escalade.service._errors import ApiError, error_body
from escalade.service._metrics import ServiceMetrics

__all__ = ["REQUEST_ID_HEADER", "ServiceMiddleware"]

REQUEST_ID_HEADER = "x-request-id"
_GOOD_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
access_log = logging.getLogger("escalade.service.access")


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"the request body is over the limit of {limit} bytes", type="request_too_large", param="body")


def _route_of(scope: Scope, static: frozenset[str]) -> str:
    """The matched route's template (``/v1/escalation/status/{workflow_id}``), or ``unmatched``.

    Routes Starlette matches without naming them in the scope (``/openapi.json``, ``/docs``) are
    named by their path when it is one of the app's own (``static``), never by a path a client chose.
    """
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    raw = scope.get("path")
    return raw if raw in static else "unmatched"


class ServiceMiddleware:
    """See the module docstring."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, metrics: ServiceMetrics, paths: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        #: The app's own paths without parameters, so that they can name themselves in logs and metrics.
        self.paths = paths
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or ())
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _GOOD_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        limit = self.max_body_bytes

        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._refuse(send, request_id, limit)
            self._log(scope, 413, started, request_id)
            return

        received = 0
        started_response = refused = False

        async def counted_receive() -> Message:
            # The 413 is sent here, as the limit is passed: the app may catch the error raised below
            # (FastAPI turns any failure to read a body into a 400), and what it sends then is dropped.
            nonlocal received, refused, status
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started_response and not refused:
                        await self._refuse(send, request_id, limit)
                    refused, status = True, 413
                    raise _too_large(limit)
            return message

        async def tagged_send(message: Message) -> None:
            nonlocal status, started_response
            if refused:
                return
            if message["type"] == "http.response.start":
                status = int(message["status"])
                started_response = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, counted_receive, tagged_send)
        except ApiError as exc:
            if exc.status != 413:
                raise
            status = 413
        finally:
            self._log(scope, status, started, request_id)

    async def _refuse(self, send: Send, request_id: str, limit: int) -> None:
        body = json.dumps(error_body(_too_large(limit), request_id)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _log(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        seconds = time.perf_counter() - started
        route = _route_of(scope, self.paths)
        method = str(scope.get("method", ""))
        self.metrics.observe_request(route, method, status, seconds)
        if access_log.isEnabledFor(logging.INFO):
            state: dict[str, Any] = scope.get("state") or {}
            line = {
                "event": "request",
                "request_id": request_id,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "key_id": state.get("key_id"),
                "workspace": state.get("workspace"),
            }
            access_log.info("%s", json.dumps(line))
