"""``escalade budget set|show|reclaim``: a workspace's standing budget and the ledger behind it."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from escalade.cli.common import DbOption, JsonOption, fail, handle_errors, open_store, out_console, print_json

if TYPE_CHECKING:
    from escalade.budget import LineState, WorkspaceBudget
    from escalade.store import SqlStore

__all__ = ["budget_app"]

budget_app = typer.Typer(
    help="A workspace's monthly and per-request budget, kept in the shared ledger.", no_args_is_help=True
)

WorkspaceOption = Annotated[str, typer.Option(help="Workspace the budget belongs to.")]


def _usd_or_none(value: str | None, option: str) -> float | None:
    """``value`` as USD > 0, or ``None`` for ``none``."""
    if value is None or value.strip().lower() == "none":
        return None
    try:
        amount = float(value)
    except ValueError:
        raise fail(f"{option} must be a number of USD or none, got {value!r}") from None
    if not (math.isfinite(amount) and amount > 0):
        raise fail(f"{option} must be a finite number of USD > 0, or none; got {value!r}")
    return amount


@budget_app.command("set")
@handle_errors
def set_command(
    workspace: WorkspaceOption = "default",
    monthly: Annotated[str | None, typer.Option(help="Cap on a calendar month's spend in USD, or none.")] = None,
    per_request: Annotated[
        str | None, typer.Option("--per-request", help="Cap on one request's spend in USD, or none.")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA time zone the months are counted in.")] = None,
    db: DbOption = None,
) -> None:
    """Set a workspace's budget; options left out keep their stored value."""
    from escalade.budget import WorkspaceBudget

    with open_store(db) as store:
        current = store.workspace_budget(workspace) or WorkspaceBudget(workspace=workspace)
        updated = WorkspaceBudget(
            workspace=workspace,
            monthly_limit_usd=current.monthly_limit_usd if monthly is None else _usd_or_none(monthly, "--monthly"),
            per_request_limit_usd=(
                current.per_request_limit_usd if per_request is None else _usd_or_none(per_request, "--per-request")
            ),
            timezone=timezone or current.timezone,
        )
        store.put_workspace_budget(updated)
        line = _month_state(store, updated)
    out_console().print(_describe(updated, line), markup=False)


@budget_app.command("show")
@handle_errors
def show_command(workspace: WorkspaceOption = "default", json_out: JsonOption = False, db: DbOption = None) -> None:
    """A workspace's budget, this month's spend and the reservations in flight (spend is counted without a budget)."""
    from escalade.budget import WorkspaceBudget

    with open_store(db) as store:
        stored = store.workspace_budget(workspace)
        budget = stored or WorkspaceBudget(workspace=workspace)  # what a run of this workspace counts against
        line = _month_state(store, budget)
        month_key = budget.month_line(datetime.now(UTC))
        held = [h for h in store.ledger().holds(status="held") if month_key in h.keys]
    now = time.time()
    stale = sum(1 for h in held if h.expires_at <= now)
    if json_out:
        print_json(json.dumps(_as_dict(budget, line, held=len(held), stale=stale) | {"budget_set": stored is not None}))
        return
    out_console().print(_describe(budget, line, budget_set=stored is not None), markup=False)
    out_console().print(f"reservations in flight: {len(held)} ({stale} expired, reclaimable)", markup=False)


@budget_app.command("reclaim")
@handle_errors
def reclaim_command(json_out: JsonOption = False, db: DbOption = None) -> None:
    """Return the expired reservations of crashed processes to their budgets."""
    with open_store(db) as store:
        reclaimed = store.ledger().reclaim_expired()
    if json_out:
        print_json(json.dumps({"reclaimed": reclaimed}))
    else:
        out_console().print(f"reclaimed {reclaimed} expired reservation(s)", markup=False)


def _month_state(store: SqlStore, budget: WorkspaceBudget) -> LineState | None:
    """This month's line of ``budget``, or ``None`` before any spend."""
    key = budget.month_line(datetime.now(UTC))
    found = [line for line in store.ledger().lines(key) if line.key == key]
    return found[0] if found else None


def _money(value: float | None) -> str:
    return "none" if value is None else f"${value:.4f}"


def _describe(budget: WorkspaceBudget, line: LineState | None, *, budget_set: bool = True) -> str:
    month = budget.month(datetime.now(UTC))
    spent = line.spent_usd if line else 0.0
    reserved = line.reserved_usd if line else 0.0
    caps = (
        f"monthly cap {_money(budget.monthly_limit_usd)}, per-request cap {_money(budget.per_request_limit_usd)}"
        if budget_set
        else "no budget set (no monthly or per-request cap; `escalade budget set --monthly USD` sets one)"
    )
    return (
        f"workspace {budget.workspace}: {caps}, months in {budget.timezone}\n"
        f"{month}: spent {_money(spent)}, reserved {_money(reserved)}"
        + (f", left {_money(line.left_usd)}" if line and line.left_usd is not None else "")
    )


def _as_dict(budget: WorkspaceBudget, line: LineState | None, *, held: int, stale: int) -> dict[str, Any]:
    return {
        "workspace": budget.workspace,
        "monthly_limit_usd": budget.monthly_limit_usd,
        "per_request_limit_usd": budget.per_request_limit_usd,
        "timezone": budget.timezone,
        "month": budget.month(datetime.now(UTC)),
        "spent_usd": line.spent_usd if line else 0.0,
        "reserved_usd": line.reserved_usd if line else 0.0,
        "left_usd": (line.left_usd if line else budget.monthly_limit_usd),
        "holds_in_flight": held,
        "holds_expired": stale,
    }
