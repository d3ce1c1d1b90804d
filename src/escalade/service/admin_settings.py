"""``/v1/admin/workspaces/{workspace}/…``: the administrator sets a workspace's budget, preferences and
upstream keys over HTTP, as ``escalade budget``, ``escalade workspace set`` and ``escalade keys set`` do.

Each applies from the next request on every replica (they live in the database). An upstream key
is stored encrypted (``ESCALADE_MASTER_KEY``) and never shown again: reads list provider names only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from escalade.budget import WorkspaceBudget
from escalade.routing import WorkspacePreferences
from escalade.service._auth import require_admin
from escalade.service._errors import ERROR_RESPONSES, not_found
from escalade.service._spend import spent_this_month
from escalade.service._state import state_of
from escalade.store import MAX_WORKSPACE_CHARS, KeyVault, check_workspace_name

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/admin/workspaces/{workspace}",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=ERROR_RESPONSES,
)

WorkspaceName = Annotated[str, Path(min_length=1, max_length=MAX_WORKSPACE_CHARS)]
ProviderName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
#: Largest USD amount a cap may be (the ledger's bound).
_MAX_USD = 1_000_000_000.0


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Cap on a calendar month's spend (``null``: counted, not capped).
    monthly_limit_usd: float | None = Field(default=None, gt=0, le=_MAX_USD)
    #: Cap on one request's spend, every tier and retry included (``null``: none).
    per_request_limit_usd: float | None = Field(default=None, gt=0, le=_MAX_USD)
    #: IANA time zone the months are counted in.
    timezone: str = Field(default="UTC", min_length=1, max_length=64)


class BudgetOut(BudgetIn):
    workspace: str
    spent_this_month_usd: float


class PreferencesOut(BaseModel):
    workspace: str
    preferences: dict[str, Any]
    stored: bool


class ProviderKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: The upstream's API key (stored encrypted, never shown again).
    key: str = Field(min_length=1, max_length=4096)


class ProviderKeysOut(BaseModel):
    workspace: str
    #: Providers with a stored key (names only).
    providers: list[str]


def _budget_out(request: Request, budget: WorkspaceBudget) -> BudgetOut:
    return BudgetOut(
        workspace=budget.workspace,
        monthly_limit_usd=budget.monthly_limit_usd,
        per_request_limit_usd=budget.per_request_limit_usd,
        timezone=budget.timezone,
        spent_this_month_usd=spent_this_month(state_of(request).store, budget),
    )


@router.put("/budget")
def put_budget(workspace: WorkspaceName, body: BudgetIn, request: Request) -> BudgetOut:
    """Set the workspace's monthly and per-request caps (every field: omitted ones are cleared)."""
    budget = WorkspaceBudget(workspace=check_workspace_name(workspace), **body.model_dump())
    state_of(request).store.put_workspace_budget(budget)
    state_of(request).pipelines.forget(budget.workspace)
    return _budget_out(request, budget)


@router.get("/budget")
def get_budget(workspace: WorkspaceName, request: Request) -> BudgetOut:
    """The workspace's caps and this month's spend."""
    found = state_of(request).store.workspace_budget(check_workspace_name(workspace))
    return _budget_out(request, found or WorkspaceBudget(workspace=workspace))


@router.put("/preferences")
def put_preferences(
    workspace: WorkspaceName, request: Request, body: Annotated[dict[str, Any], Body()]
) -> PreferencesOut:
    """Replace the workspace's routing preferences (``escalade workspace show --json``'s fields), checked
    against the server's ladder."""
    preferences = WorkspacePreferences.from_dict(body)
    state = state_of(request)
    state.store.set_workspace_preferences(
        check_workspace_name(workspace), preferences, ladder=state.pipelines.config.tiers
    )
    state.pipelines.forget(workspace)
    return PreferencesOut(workspace=workspace, preferences=preferences.to_dict(), stored=True)


@router.get("/preferences")
def get_preferences(workspace: WorkspaceName, request: Request) -> PreferencesOut:
    """The workspace's preferences (the defaults, ``stored: false``, when it has none)."""
    found = state_of(request).store.stored_workspace_preferences(check_workspace_name(workspace))
    shown = found or WorkspacePreferences()
    return PreferencesOut(workspace=workspace, preferences=shown.to_dict(), stored=found is not None)


@router.put("/provider-keys/{provider}")
def put_provider_key(
    workspace: WorkspaceName, provider: ProviderName, body: ProviderKeyIn, request: Request
) -> ProviderKeysOut:
    """Store the workspace's key for an upstream, encrypted; the response names providers only."""
    store = state_of(request).store
    KeyVault(store).set(provider, body.key, workspace=check_workspace_name(workspace))
    state_of(request).pipelines.forget(workspace)
    return ProviderKeysOut(workspace=workspace, providers=store.provider_key_names(workspace))


@router.get("/provider-keys")
def list_provider_keys(workspace: WorkspaceName, request: Request) -> ProviderKeysOut:
    """Providers with a stored key in the workspace (never the keys)."""
    store = state_of(request).store
    return ProviderKeysOut(workspace=workspace, providers=store.provider_key_names(check_workspace_name(workspace)))


@router.delete("/provider-keys/{provider}")
def delete_provider_key(workspace: WorkspaceName, provider: ProviderName, request: Request) -> ProviderKeysOut:
    """Forget the workspace's key for an upstream."""
    store = state_of(request).store
    if not KeyVault(store).delete(provider, workspace=check_workspace_name(workspace)):
        raise not_found("stored key for provider", provider, param="provider")
    state_of(request).pipelines.forget(workspace)
    return ProviderKeysOut(workspace=workspace, providers=store.provider_key_names(workspace))
