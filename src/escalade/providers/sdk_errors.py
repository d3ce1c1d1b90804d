"""Mapping of the official SDKs' errors (openai, anthropic) onto escalade's typed provider errors.

Both SDKs expose the same family of exception classes (``RateLimitError``, ``AuthenticationError``,
``APIStatusError``, ...), so one mapping serves both. Each adapter says what only it can tell: whether
the error is about the context window or about content policy.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from escalade.exceptions import (
    ContentPolicyError,
    ContextWindowError,
    ProviderAuthError,
    ProviderError,
    RateLimitedError,
    TransientProviderError,
)

__all__ = ["retry_after_seconds", "typed_error"]

_SERVER_ERROR = 500


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


def typed_error(
    exc: Exception,
    sdk: ModuleType,
    *,
    message: str,
    model: str,
    context_window: bool = False,
    content_policy: bool = False,
) -> ProviderError:
    """The typed error for ``exc`` raised by ``sdk`` (``message`` must already be redacted)."""
    if isinstance(exc, sdk.RateLimitError):
        return RateLimitedError(message, model=model, retry_after_s=retry_after_seconds(exc.response.headers))
    kind: type[ProviderError] = ProviderError
    if isinstance(exc, sdk.AuthenticationError | sdk.PermissionDeniedError):
        kind = ProviderAuthError
    elif context_window:
        kind = ContextWindowError
    elif content_policy:
        kind = ContentPolicyError
    elif (isinstance(exc, sdk.APIStatusError) and exc.status_code >= _SERVER_ERROR) or isinstance(
        exc, sdk.APITimeoutError | sdk.APIConnectionError
    ):
        kind = TransientProviderError
    return kind(message, model=model)
