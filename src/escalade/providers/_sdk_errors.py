"""Mapping of the official SDKs' errors (openai, anthropic) onto escalade's typed provider errors.

Both SDKs expose the same family of exception classes (``RateLimitError``, ``AuthenticationError``,
``APIStatusError``, ...), so one mapping serves both. Each adapter says what only it can tell: whether
the error is about the context window or about content policy, and, for an error the server reported
inside a stream that had already opened, whether it is a rate limit or worth a retry.

Once a stream is open, the SDKs pass some failures through unwrapped: a dropped connection or a read
timeout (``httpx`` transport errors) and an event whose data is not JSON. :data:`STREAM_BREAKS` names
them, so the adapters can turn them into :class:`TransientProviderError` too. A 5xx (or an error the
server reported in a stream) is a :class:`ProviderServerError`, a refused or dropped connection a
:class:`ProviderConnectionError`, a timeout a :class:`ProviderTimeoutError`: a run counts its
errors by these causes.
"""

from __future__ import annotations

import json
import logging
from types import ModuleType
from typing import Any

import httpx

from escalade.exceptions import (
    ContentPolicyError,
    ContextWindowError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
)

__all__ = ["STREAM_BREAKS", "error_type", "retry_after_seconds", "typed_error"]

logger = logging.getLogger(__name__)

_SERVER_ERROR = 500

#: Errors an open stream raises unwrapped by the SDK: the same request may succeed later.
STREAM_BREAKS: tuple[type[Exception], ...] = (httpx.TransportError, json.JSONDecodeError)


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds a 429 response asks to wait (``retry-after-ms`` or ``retry-after``), if it says."""
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name) if headers is not None else None
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            return None
        return seconds / 1000 if name == "retry-after-ms" else seconds
    return None


def error_type(body: object) -> str | None:
    """The ``type`` of an error body, ``{"error": {"type": ...}}`` or ``{"type": ...}``, if it has one.

    >>> error_type({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    'overloaded_error'
    >>> error_type({"message": "oops", "type": "server_error"}), error_type("not json")
    ('server_error', None)
    """
    if not isinstance(body, dict):
        return None
    inner = body.get("error")
    kind = inner.get("type") if isinstance(inner, dict) else body.get("type")
    return kind if isinstance(kind, str) else None


def typed_error(
    exc: Exception,
    sdk: ModuleType,
    *,
    message: str,
    model: str,
    context_window: bool = False,
    content_policy: bool = False,
    rate_limited: bool = False,
    transient: bool = False,
    in_stream: bool = False,
) -> ProviderError:
    """The typed error for ``exc`` raised by ``sdk`` (``message`` must already be redacted).

    ``in_stream``: the error came after the provider had accepted the request and begun to answer,
    so it may have billed the call. An HTTP error status before that, or a refused connection, bills
    nothing; a timeout may have.
    """
    # A timed-out request, or an error inside a stream that had begun, may have been charged for.
    maybe_billed = in_stream or isinstance(exc, sdk.APITimeoutError)
    if rate_limited or isinstance(exc, sdk.RateLimitError):
        headers = getattr(getattr(exc, "response", None), "headers", None)
        error = RateLimitedError(
            message, model=model, retry_after_s=retry_after_seconds(headers), maybe_billed=maybe_billed
        )
        _log_mapped(exc, error, model, in_stream)
        return error
    kind: type[ProviderError] = ProviderError
    if isinstance(exc, sdk.AuthenticationError | sdk.PermissionDeniedError):
        kind = ProviderAuthError
    elif context_window:
        kind = ContextWindowError
    elif content_policy:
        kind = ContentPolicyError
    elif transient or (isinstance(exc, sdk.APIStatusError) and exc.status_code >= _SERVER_ERROR):
        kind = ProviderServerError
    elif isinstance(exc, sdk.APITimeoutError):
        kind = ProviderTimeoutError
    elif isinstance(exc, sdk.APIConnectionError):
        kind = ProviderConnectionError
    mapped = kind(message, model=model, maybe_billed=maybe_billed)
    _log_mapped(exc, mapped, model, in_stream)
    return mapped


def _log_mapped(exc: Exception, error: ProviderError, model: str, in_stream: bool) -> None:
    """The failed request at debug: model, HTTP status and both error types (no message: it may quote the request)."""
    logger.debug(
        "%s request failed%s: HTTP %s, %s mapped to %s%s",
        model,
        " inside the stream" if in_stream else "",
        getattr(exc, "status_code", None) or "-",
        type(exc).__name__,
        type(error).__name__,
        " (maybe billed)" if error.maybe_billed else "",
    )
