"""Every error of the service as one JSON body, OpenAI's shape, with the status that fits its cause.

The body is ``{"error": {"message", "type", "param", "code"}}`` (what OpenAI's API and SDKs use), plus
``request_id`` and, for a budget refusal, the ``line`` that refused. The message says what was wrong
and where (``param`` names the field); it never holds a key, a prompt or a traceback.

======================================  =====  =========================
error                                   status type
======================================  =====  =========================
malformed body, unknown or wrong field  400    ``invalid_request_error``
missing or unknown API key              401    ``authentication_error``
the key may not do this                 403    ``permission_error``
unknown workflow, model or key id       404    ``not_found_error``
a state that forbids the change         409    ``conflict_error``
budget or approval refusal              402    ``budget_exceeded``
body over the size limit                413    ``request_too_large``
upstream rate limit                     429    ``rate_limit_error``
upstream refused or failed              502    ``upstream_error``
upstream timed out                      504    ``upstream_timeout``
database or ledger unreachable          503    ``unavailable``
anything else                           500    ``server_error``
======================================  =====  =========================
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from escalade.exceptions import (
    ApprovalDeniedError,
    BudgetExceededError,
    BudgetUnavailableError,
    ContentPolicyError,
    ContextWindowError,
    DatabaseError,
    EscaladeError,
    ListenerError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    RunNotFoundError,
)

__all__ = [
    "ERROR_RESPONSES",
    "ApiError",
    "ErrorBody",
    "ErrorResponse",
    "error_body",
    "from_escalade_error",
    "from_validation_errors",
]

logger = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """What went wrong."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None
    #: For a budget refusal: the ledger line that refused.
    line: str | None = None


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorBody
    request_id: str | None = None


#: The error responses every route documents in the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Malformed request: the message and ``param`` name the field",
        401: "Missing or unknown API key",
        402: "A budget refused the spend",
        403: "The key may not do this",
        404: "Not found",
        409: "The resource's state forbids the change",
        413: "Request body over the size limit",
        422: "Malformed request: the message and ``param`` name the field",
        429: "Upstream rate limit",
        502: "Upstream error",
        503: "Database unavailable",
        504: "Upstream timeout",
    }.items()
}


class ApiError(Exception):
    """An error the service answers with ``status`` and an :class:`ErrorBody`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str,
        param: str | None = None,
        code: str | None = None,
        line: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorBody(message=message, type=type, param=param, code=code, line=line)
        self.headers = dict(headers or {})


def error_body(error: ApiError, request_id: str | None) -> dict[str, Any]:
    """The JSON body of ``error``."""
    return ErrorResponse(error=error.body, request_id=request_id).model_dump(exclude_none=True)


def not_found(what: str, name: str, *, param: str | None = None) -> ApiError:
    """404 for an unknown ``what`` called ``name``."""
    return ApiError(404, f"no {what} {name[:80]!r}", type="not_found_error", param=param)


#: Status and type per error class, the first match wins (budget and rate-limit errors carry more: below).
_STATUS: tuple[tuple[type[EscaladeError] | tuple[type[EscaladeError], ...], int, str], ...] = (
    ((BudgetExceededError, ApprovalDeniedError), 402, "budget_exceeded"),
    ((DatabaseError, BudgetUnavailableError, ListenerError), 503, "unavailable"),
    (RateLimitedError, 429, "rate_limit_error"),
    ((ContextWindowError, ContentPolicyError), 400, "invalid_request_error"),
    (ProviderTimeoutError, 504, "upstream_timeout"),
    (ProviderError, 502, "upstream_error"),
    (RunNotFoundError, 404, "not_found_error"),
)


def from_escalade_error(exc: EscaladeError) -> ApiError:
    """The status and body for an error escalade raised on purpose (see the module's table)."""
    status, kind = next(((code, name) for cls, code, name in _STATUS if isinstance(exc, cls)), (400, ""))
    message = str(exc)
    if kind == "unavailable":  # the database's name and the driver's words stay in the server's log
        logger.warning("database unavailable: %s", message)
        return ApiError(503, "the database is unavailable; retry later", type=kind)
    if kind == "budget_exceeded":
        line = getattr(exc, "line", None)  # the refusing line's state (a LineState), or its key
        return ApiError(402, message, type=kind, code=kind, line=getattr(line, "key", line))
    if isinstance(exc, RateLimitedError) and exc.retry_after_s:
        headers = {"Retry-After": str(max(1, round(exc.retry_after_s)))}
        return ApiError(429, message, type=kind, code="upstream_rate_limited", headers=headers)
    if kind:
        return ApiError(status, message, type=kind, code=type(exc).__name__)
    field = getattr(exc, "field", None)
    return ApiError(400, message, type="invalid_request_error", param=field if isinstance(field, str) else None)


def _where(loc: Sequence[Any]) -> str:
    """``body.messages.0.role`` → ``messages[0].role``."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or ".".join(str(p) for p in loc)


def from_validation_errors(errors: Sequence[Mapping[str, Any]]) -> ApiError:
    """400 naming the first invalid field (and how many others there are) of a request FastAPI refused."""
    if not errors:
        return ApiError(400, "malformed request", type="invalid_request_error")
    first = errors[0]
    field = _where(first.get("loc", ()))
    kind = str(first.get("type", ""))
    if kind == "extra_forbidden":
        message = f"unknown field {field!r}"
    elif kind == "missing":
        message = f"missing field {field!r}"
    elif kind == "json_invalid":
        message = f"the body is not valid JSON: {first.get('msg', '')}"
        field = "body"
    else:
        message = f"field {field!r}: {first.get('msg', 'invalid')}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return ApiError(400, message, type="invalid_request_error", param=field, code=kind or None)
