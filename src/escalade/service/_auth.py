"""Who is calling: a workspace's API key, or the administrator's.

Keys come as ``Authorization: Bearer <key>`` (what OpenAI's SDKs send) or ``X-API-Key: <key>``.
A workspace key gives a :class:`Principal` of that workspace, and every route reads and spends only
in it; the administrator's key (``ESCALADE_ADMIN_KEY``) creates workspaces and keys and reads
``/metrics``, and is not a workspace key. Keys are checked against their stored SHA-256 on every
request, so a revoked key stops working at once, on every replica.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from starlette.requests import Request

from escalade.service._errors import ApiError
from escalade.service._state import state_of

__all__ = ["Principal", "require_admin", "require_key"]


@dataclass(frozen=True, kw_only=True)
class Principal:
    """The caller: a key of one workspace (a per-person token also names the person and their roles)."""

    workspace: str
    key_id: str
    person: str | None = None
    roles: tuple[str, ...] = ()


def _presented(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "the Authorization header must be 'Bearer <key>'", type="authentication_error")
        return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key else None


def _missing() -> ApiError:
    return ApiError(
        401,
        "no API key: send 'Authorization: Bearer <key>' (escalade api-key create prints one)",
        type="authentication_error",
        code="missing_api_key",
    )


def require_key(request: Request) -> Principal:
    """The workspace whose key the request carries; 401 when it carries none, or one that is not active."""
    key = _presented(request)
    if key is None:
        raise _missing()
    state = state_of(request)
    found = state.keys.get(hashlib.sha256(key.encode()).hexdigest(), lambda: state.store.api_keys.verify(key))
    if found is None:
        state.keys.forget(hashlib.sha256(key.encode()).hexdigest())  # a key made a moment later works at once
        admin = state_of(request).admin_key
        if admin is not None and hmac.compare_digest(key.encode(), admin.value.encode()):
            raise ApiError(
                403,
                "the administrator's key manages workspaces and keys; call this with a workspace's key",
                type="permission_error",
            )
        raise ApiError(401, "the API key is not valid (unknown or revoked)", type="authentication_error")
    request.scope.setdefault("state", {}).update(key_id=found.id, workspace=found.workspace)
    return Principal(workspace=found.workspace, key_id=found.id, person=found.person, roles=found.roles)


def require_admin(request: Request) -> None:
    """Pass for the administrator's key; 401 without a key or with one that is nobody's, 403 for a workspace's.

    With no administrator's key set on the server, every key is refused with 403.
    """
    admin = state_of(request).admin_key
    key = _presented(request)
    if key is None:
        raise _missing()
    if admin is None:
        raise ApiError(403, "no administrator key is set on this server (ESCALADE_ADMIN_KEY)", type="permission_error")
    if not hmac.compare_digest(key.encode(), admin.value.encode()):
        if state_of(request).store.api_keys.verify(key) is None:
            raise ApiError(401, "the API key is not valid (unknown or revoked)", type="authentication_error")
        raise ApiError(403, "this needs the administrator's key", type="permission_error")
    request.scope.setdefault("state", {})["key_id"] = "admin"
