"""Who is signed in to the web inbox: an HMAC-signed, expiring cookie, checked against its key on every request.

The cookie holds the key's id, the person, when it expires (8 hours after sign-in) and a random
CSRF token, signed with HMAC-SHA256; no session lives in a process or a table, so every replica on
the same database reads it. Each request checks the key is still active (through the service's
short-lived key cache): a revoked key ends its sessions on every replica within ``--cache-ttl``.
The workspace and the roles are the key's, read again each time; only the name a person typed
with a workspace key comes from the cookie.

The signing secret is ``ESCALADE_SESSION_KEY``; unset, it is derived from ``ESCALADE_ADMIN_KEY``
(HMAC with a fixed label), so every replica given the same administrator's key agrees; with neither
set, it is random per process and a warning says sessions will not survive a restart or cross
replicas. Every form but sign-in carries the session's CSRF token, and sign-in carries a signed
pre-session token of its own (:func:`login_token`), against login CSRF.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from escalade.exceptions import ConfigError
from escalade.service._state import ServiceState
from escalade.store import ApiKey

__all__ = [
    "LOGIN_COOKIE",
    "LOGIN_S",
    "SESSION_COOKIE",
    "SESSION_KEY_ENV",
    "SESSION_S",
    "Session",
    "check_login_token",
    "login_token",
    "new_session",
    "same_origin",
    "session_of",
    "sign",
    "unsign",
]

logger = logging.getLogger(__name__)

#: The environment variable holding the secret that signs sessions (at least 32 characters).
SESSION_KEY_ENV = "ESCALADE_SESSION_KEY"
SESSION_COOKIE = "escalade_session"
LOGIN_COOKIE = "escalade_login"
#: How long a session lasts after sign-in (8 hours).
SESSION_S = 8 * 3600
#: How long a sign-in form's token lasts.
LOGIN_S = 3600
_MIN_SECRET_CHARS = 32
_LABEL = b"escalade web inbox session v1"
#: Largest cookie value read back (a session is a few hundred bytes).
_MAX_COOKIE = 4096


def _secret(state: ServiceState) -> bytes:
    """The process's signing secret, found once (see the module docstring)."""
    found = state.parts.get("web_session_secret")
    if isinstance(found, bytes):
        return found
    given = os.environ.get(SESSION_KEY_ENV, "").strip()
    if given:
        if len(given) < _MIN_SECRET_CHARS:
            raise ConfigError(f"must be at least {_MIN_SECRET_CHARS} characters", field=SESSION_KEY_ENV)
        secret = hashlib.sha256(given.encode()).digest()
    elif state.admin_key is not None:
        secret = hmac.new(state.admin_key.value.encode(), _LABEL, hashlib.sha256).digest()
    else:
        logger.warning(
            "neither %s nor ESCALADE_ADMIN_KEY is set: web inbox sessions are signed with a random secret of "
            "this process, and do not survive a restart or reach another replica",
            SESSION_KEY_ENV,
        )
        secret = secrets.token_bytes(32)
    state.parts["web_session_secret"] = secret
    return secret


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(state: ServiceState, purpose: str, data: dict[str, Any], *, ttl_s: float) -> str:
    """``data`` as a cookie value for ``purpose``, signed, expiring ``ttl_s`` from now."""
    body = _b64(json.dumps({**data, "exp": int(time.time() + ttl_s)}, separators=(",", ":")).encode())
    mac = hmac.new(_secret(state), f"{purpose}.{body}".encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(state: ServiceState, purpose: str, value: str | None) -> dict[str, Any] | None:
    """What :func:`sign` signed for ``purpose``, or ``None``: missing, tampered with, for another purpose, expired."""
    if not value or len(value) > _MAX_COOKIE or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    expected = _b64(hmac.new(_secret(state), f"{purpose}.{body}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac.encode(), expected.encode()):  # as text: one spelling of the MAC only
        return None
    try:
        data = json.loads(_unb64(body))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("exp"), int) or data["exp"] <= time.time():
        return None
    return data


@dataclass(frozen=True, kw_only=True)
class Session:
    """A signed-in person: their key, workspace and roles (the key's), and the session's CSRF token."""

    key_id: str
    workspace: str
    person: str
    roles: tuple[str, ...]
    csrf: str


def new_session(state: ServiceState, key: ApiKey, person: str) -> str:
    """The cookie value of a new session of ``person`` with ``key``."""
    data = {"key": key.id, "person": person, "csrf": secrets.token_urlsafe(24)}
    return sign(state, "session", data, ttl_s=SESSION_S)


def session_of(request: Request, state: ServiceState) -> Session | None:
    """The request's session, or ``None``: no cookie, a bad or expired one, or its key revoked since."""
    data = unsign(state, "session", request.cookies.get(SESSION_COOKIE))
    if data is None or not all(isinstance(data.get(k), str) for k in ("key", "person", "csrf")):
        return None
    key_id = data["key"]
    key = state.keys.get(f"id:{key_id}", lambda: state.store.api_keys.get(key_id))
    if key is None or (key.person is not None and key.person != data["person"]):
        return None
    request.scope.setdefault("state", {}).update(key_id=key.id, workspace=key.workspace)
    return Session(key_id=key.id, workspace=key.workspace, person=data["person"], roles=key.roles, csrf=data["csrf"])


def login_token(state: ServiceState) -> str:
    """A sign-in form's token: set as a cookie and sent back in the form (they must match)."""
    return sign(state, "login", {"nonce": secrets.token_urlsafe(16)}, ttl_s=LOGIN_S)


def check_login_token(request: Request, state: ServiceState, given: str) -> bool:
    """Whether the sign-in form's token is this browser's, signed by us and not expired."""
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    same = hmac.compare_digest(cookie.encode(), given.encode())  # bytes: any text compares, never raises
    return bool(given) and same and unsign(state, "login", given) is not None


def same_origin(request: Request) -> bool:
    """Whether ``Origin`` (else ``Referer``), when sent, names this server (a cross-site form is refused)."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    if sent is None:
        return True
    here = f"{request.url.scheme}://{request.headers.get('host', '')}"
    parts = urlsplit(sent)
    return f"{parts.scheme}://{parts.netloc}" == here
