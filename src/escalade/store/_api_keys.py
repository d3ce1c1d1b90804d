"""API keys of ``escalade serve`` and the workspaces an administrator creates: hashes only, never a key.

A key reads ``esk_<id>_<secret>``: ``id`` (12 hex digits) is public and names the key in listings
and logs; ``secret`` (32 random bytes, URL-safe base64) is shown once, when the key is made, and
only its SHA-256 is stored. A random 256-bit secret needs no slow password hash: nobody can guess
it, and a hash leaked from the database does not give it back.

A key may name a ``person`` (and their ``roles``): a per-person token, which signs that person in
to the web inbox, where their answers are recorded by their name. A key without one is a
workspace key.

>>> from escalade.store import Database
>>> keys = ApiKeyRepository(Database("sqlite://"))
>>> made = keys.create("acme", name="ci")
>>> made.key.startswith("esk_" + made.id + "_")
True
>>> keys.verify(made.key).workspace
'acme'
>>> keys.revoke(made.id, workspace="acme")
True
>>> keys.verify(made.key) is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from escalade.exceptions import ConfigError, InboxError, StoreError
from escalade.inbox import ROLE_PREFIX, check_name, check_person
from escalade.store._engine import Database
from escalade.store._models import ApiKeyRow, WorkspaceRow
from escalade.store._workspaces import check_workspace_name
from escalade.untrusted import unstorable

__all__ = ["API_KEY_PREFIX", "MAX_KEY_ROLES", "ApiKey", "ApiKeyRepository", "NewApiKey", "check_holder"]

#: What every key starts with, so that a key pasted in the wrong place can be recognised (and scanned for).
API_KEY_PREFIX = "esk_"
_KEY = re.compile(r"esk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
#: Longest label of a key.
MAX_KEY_NAME_CHARS = 100
#: Most roles a per-person token may hold.
MAX_KEY_ROLES = 20


@dataclass(frozen=True, kw_only=True)
class ApiKey:
    """A stored key as listings show it: its id, workspace and label, never its secret."""

    id: str
    workspace: str
    name: str | None
    created_at: datetime
    revoked_at: datetime | None
    #: The person a per-person token signs in (``None``: a workspace key).
    person: str | None = None
    #: The person's roles (without the ``role:`` prefix).
    roles: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready, for ``api-key list --json`` and the admin API."""
        return {
            "id": self.id,
            "workspace": self.workspace,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
            "person": self.person,
            "roles": list(self.roles),
        }


@dataclass(frozen=True, kw_only=True)
class NewApiKey(ApiKey):
    """A key just made: ``key`` is the whole key, shown this once."""

    key: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _key_of(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        workspace=row.workspace,
        name=row.name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        person=row.person,
        roles=tuple(row.roles or ()),
    )


def _checked(what: str, name: str) -> str:
    """``name`` stripped, or a :class:`ConfigError` naming ``what`` (a person's or a role's name)."""
    try:
        return check_person(name, what=what) if what == "person" else check_name(name, what=what)
    except InboxError:
        raise ConfigError(
            f"must be 1 to {MAX_KEY_NAME_CHARS} printable characters (a person's not starting with "
            f"{ROLE_PREFIX!r}), got {str(name)[:40]!r}",
            field=what,
        ) from None


def check_holder(person: str | None, roles: tuple[str, ...] | list[str]) -> tuple[str | None, tuple[str, ...]]:
    """A token's person and roles, checked: names of 1 to 100 printable characters, at most :data:`MAX_KEY_ROLES`
    roles (``role:sre`` is ``sre``), roles only with a person; else a :class:`ConfigError` naming the field."""
    if len(roles) > MAX_KEY_ROLES:
        raise ConfigError(f"at most {MAX_KEY_ROLES} roles, got {len(roles)}", field="roles")
    if roles and person is None:
        raise ConfigError("roles belong to a person: give the person too", field="roles")
    named = [_checked("roles", r) for r in roles]
    cleaned = tuple(dict.fromkeys(r.removeprefix(ROLE_PREFIX) for r in named))
    if any(not r for r in cleaned):
        raise ConfigError(f"a role needs a name after {ROLE_PREFIX!r}", field="roles")
    return (None if person is None else _checked("person", person)), cleaned


class ApiKeyRepository:
    """Workspaces made by an administrator, and their API keys (created, verified, listed, revoked)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- workspaces ------------------------------------------------------------------------------------
    def create_workspace(self, name: str) -> bool:
        """Register ``name``; whether it is new (an existing workspace is left as it is)."""
        check_workspace_name(name)
        with self.db.session() as s:
            if s.get(WorkspaceRow, name) is not None:
                return False
            s.add(WorkspaceRow(name=name, created_at=datetime.now(UTC)))
        return True

    def workspace_names(self) -> list[str]:
        """Registered workspaces, sorted."""
        with self.db.session() as s:
            return sorted(s.scalars(select(WorkspaceRow.name)))

    # -- keys ------------------------------------------------------------------------------------------
    def create(
        self,
        workspace: str,
        *,
        name: str | None = None,
        person: str | None = None,
        roles: tuple[str, ...] | list[str] = (),
    ) -> NewApiKey:
        """A new key of ``workspace`` (registered if it was not), a per-person token when ``person`` is given;
        the returned ``key`` is never stored."""
        check_workspace_name(workspace)
        if name is not None and (problem := unstorable(name, max_chars=MAX_KEY_NAME_CHARS)) is not None:
            raise ConfigError(f"key name {name[:40]!r} {problem}", field="name")
        person, held = check_holder(person, roles)
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        self.create_workspace(workspace)
        with self.db.session() as s:
            s.add(
                ApiKeyRow(
                    id=key_id,
                    workspace=workspace,
                    name=name,
                    secret_hash=_hash(secret),
                    created_at=now,
                    person=person,
                    roles=list(held) or None,
                )
            )
        return NewApiKey(
            id=key_id,
            workspace=workspace,
            name=name,
            created_at=now,
            revoked_at=None,
            person=person,
            roles=held,
            key=f"{API_KEY_PREFIX}{key_id}_{secret}",
        )

    def get(self, key_id: str) -> ApiKey | None:
        """The active key with this id, or ``None`` (unknown or revoked): a session's key checked again."""
        if not isinstance(key_id, str) or not re.fullmatch(r"[0-9a-f]{12}", key_id):
            return None
        with self.db.session() as s:
            row = s.get(ApiKeyRow, key_id)
            return None if row is None or row.revoked_at is not None else _key_of(row)

    def verify(self, key: str) -> ApiKey | None:
        """The active key ``key`` is, or ``None`` (malformed, unknown, revoked or a wrong secret)."""
        found = _KEY.fullmatch(key) if isinstance(key, str) else None
        if found is None:
            return None
        key_id, secret = found.groups()
        with self.db.session() as s:
            row = s.get(ApiKeyRow, key_id)
            if row is None or row.revoked_at is not None:
                return None
            if not hmac.compare_digest(row.secret_hash, _hash(secret)):
                return None
            return _key_of(row)

    def list(self, workspace: str | None = None, *, include_revoked: bool = False) -> list[ApiKey]:
        """Keys (of ``workspace``, or of all), oldest first; revoked ones only with ``include_revoked``."""
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
        if workspace is not None:
            query = query.where(ApiKeyRow.workspace == check_workspace_name(workspace))
        if not include_revoked:
            query = query.where(ApiKeyRow.revoked_at.is_(None))
        with self.db.session() as s:
            return [_key_of(row) for row in s.scalars(query)]

    def revoke(self, key_id: str, *, workspace: str | None = None) -> bool:
        """Revoke the key (of ``workspace`` when given); whether an active key was revoked."""
        if not isinstance(key_id, str) or not re.fullmatch(r"[0-9a-f]{12}", key_id):
            raise StoreError(f"not an API key id: {str(key_id)[:40]!r} (12 hex digits, as api-key list shows)")
        query = update(ApiKeyRow).where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
        if workspace is not None:
            query = query.where(ApiKeyRow.workspace == workspace)
        with self.db.session() as s:
            done = s.execute(query.values(revoked_at=datetime.now(UTC)))
            return bool(done.rowcount)  # type: ignore[attr-defined]
