"""``/v1/admin``: the administrator (``ESCALADE_ADMIN_KEY``) creates workspaces and their API keys.

A new key's whole value is in the response that creates it, once; afterwards only its id is known.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from escalade.service._auth import require_admin
from escalade.service._errors import ERROR_RESPONSES, not_found
from escalade.service._state import state_of
from escalade.store import MAX_KEY_ROLES, MAX_WORKSPACE_CHARS

__all__ = ["router"]

router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(require_admin)], responses=ERROR_RESPONSES)

WorkspaceName = Annotated[str, Path(min_length=1, max_length=MAX_WORKSPACE_CHARS)]
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]


class WorkspaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=MAX_WORKSPACE_CHARS)


class WorkspaceOut(BaseModel):
    name: str
    created: bool


class WorkspaceList(BaseModel):
    workspaces: list[str]


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: A label for people (``ci``, ``alice``).
    name: str | None = Field(default=None, max_length=100)
    #: A per-person token: the person it signs in to the web inbox.
    person: str | None = Field(default=None, min_length=1, max_length=100)
    #: The person's roles (``sre``), at most 20.
    roles: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=MAX_KEY_ROLES
    )


class KeyOut(BaseModel):
    id: str
    workspace: str
    name: str | None
    created_at: str
    revoked_at: str | None = None
    person: str | None = None
    roles: list[str] = []


class NewKeyOut(KeyOut):
    #: The whole key: shown this once, never stored.
    key: str


class KeyList(BaseModel):
    keys: list[KeyOut]


class Revoked(BaseModel):
    id: str
    revoked: bool


@router.post("/workspaces", status_code=201)
def create_workspace(body: WorkspaceIn, request: Request) -> WorkspaceOut:
    """Create a workspace (an existing one is left as it is: ``created`` is then false)."""
    created = state_of(request).store.api_keys.create_workspace(body.name)
    return WorkspaceOut(name=body.name, created=created)


@router.get("/workspaces")
def list_workspaces(request: Request) -> WorkspaceList:
    """Every workspace the store knows: created here, or with preferences, a budget or keys."""
    return WorkspaceList(workspaces=state_of(request).store.workspaces())


@router.post("/workspaces/{workspace}/keys", status_code=201)
def create_key(workspace: WorkspaceName, request: Request, body: KeyIn | None = None) -> NewKeyOut:
    """A new API key of ``workspace`` (created if needed), a per-person token with ``person``; the response is
    the only time the key is shown."""
    given = body or KeyIn()
    made = state_of(request).store.api_keys.create(workspace, name=given.name, person=given.person, roles=given.roles)
    return NewKeyOut(**made.to_dict(), key=made.key)


@router.get("/workspaces/{workspace}/keys")
def list_keys(workspace: WorkspaceName, request: Request, include_revoked: bool = False) -> KeyList:
    """The workspace's keys (ids and labels, never the keys)."""
    keys = state_of(request).store.api_keys.list(workspace, include_revoked=include_revoked)
    return KeyList(keys=[KeyOut(**k.to_dict()) for k in keys])


@router.delete("/keys/{key_id}")
def revoke_key(key_id: KeyId, request: Request) -> Revoked:
    """Revoke a key: it stops working at once on this replica, and on the others within ``--cache-ttl``."""
    state = state_of(request)
    if not state.store.api_keys.revoke(key_id):
        raise not_found("active API key", key_id, param="key_id")
    state.keys.clear()
    return Revoked(id=key_id, revoked=True)
