"""``escalade workspace set|show|list``: a workspace's routing preferences, and its budget caps beside them.

Preferences (tier bounds and default, preferred providers and models per tier, auto-escalation, the
quality policy) are kept in the store's ``workspace_preferences`` table; the monthly and per-request
caps stay on the budget ledger (``escalade budget`` shows the same ones), set here through its API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from escalade.cli.budget import _money, _month_state, _usd_or_none
from escalade.cli.common import DbOption, JsonOption, fail, handle_errors, open_store, out_console, print_json

if TYPE_CHECKING:
    from escalade.budget import LineState, WorkspaceBudget
    from escalade.exceptions import ConfigError
    from escalade.ladder import Ladder
    from escalade.routing import WorkspacePreferences
    from escalade.store import SqlStore

__all__ = ["workspace_app"]

workspace_app = typer.Typer(
    help="A workspace's routing preferences (tier bounds and default, preferred providers and models, "
    "auto-escalation, quality policy) and its budget caps.",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="Workspace name (1 to 100 characters).", show_default=False)]

#: The option that sets each preference field (``--clear`` accepts these names, with - or _).
_OPTIONS = {
    "min_tier": "--min-tier",
    "max_tier": "--max-tier",
    "default_tier": "--default-tier",
    "preferred_providers": "--prefer-provider",
    "preferred_models": "--model",
    "auto_escalation": "--auto-escalation",
    "quality_policy": "--quality-policy",
    "per_request_usd": "--per-request-usd",
    "monthly_usd": "--monthly-usd",
}
#: The tier fields whose crossing (min above max, default outside them) is one error.
_TIERS = ("min_tier", "max_tier", "default_tier")
#: Other names ``--clear`` accepts for a field: the option's own name.
_ALIASES = {"prefer_provider": "preferred_providers", "model": "preferred_models", "models": "preferred_models"}


@workspace_app.command("set")
@handle_errors
def set_command(
    name: NameArgument,
    min_tier: Annotated[str | None, typer.Option(help="Lowest tier a routed task starts on.")] = None,
    max_tier: Annotated[str | None, typer.Option(help="Highest tier a routed task starts on.")] = None,
    default_tier: Annotated[
        str | None, typer.Option(help="Start tier of every task, ahead of the classifier (an override still wins).")
    ] = None,
    prefer_provider: Annotated[
        list[str] | None, typer.Option(help="Provider whose models go first; repeat, in order (replaces the list).")
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(help="TIER=MODEL tried first on TIER; repeat, in order (replaces that tier's list)."),
    ] = None,
    auto_escalation: Annotated[
        bool | None,
        typer.Option(
            "--auto-escalation/--no-auto-escalation", help="Let triggers raise the start tier.", show_default=False
        ),
    ] = None,
    quality_policy: Annotated[
        str | None, typer.Option(help="SCORER or SCORER:CQS (0-100), e.g. consensus:85; SCORER from escalade.scorers.")
    ] = None,
    per_request_usd: Annotated[str | None, typer.Option(help="Cap on one request's spend in USD, or none.")] = None,
    monthly_usd: Annotated[str | None, typer.Option(help="Cap on a calendar month's spend in USD, or none.")] = None,
    clear: Annotated[
        list[str] | None, typer.Option(help="Reset FIELD to its default (min-tier, model, monthly-usd, ...); repeat.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML configuration whose ladder tier names are checked against.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Set a workspace's preferences and caps; fields left out keep their stored value (nothing stored on bad input)."""
    from escalade.store import check_workspace_name

    check_workspace_name(name)
    given: dict[str, Any] = {
        "min_tier": min_tier,
        "max_tier": max_tier,
        "default_tier": default_tier,
        "preferred_providers": tuple(prefer_provider) if prefer_provider else None,
        "preferred_models": _parse_models(model or []) or None,
        "auto_escalation": auto_escalation,
        "quality_policy": _parse_policy(quality_policy) if quality_policy is not None else None,
    }
    cleared = _parse_clear(clear or [])
    caps = {"per_request_usd": per_request_usd, "monthly_usd": monthly_usd}
    for field in sorted(cleared):
        if given.get(field) is not None or caps.get(field) is not None:
            raise fail(f"{_OPTIONS[field]} and --clear {field.replace('_', '-')} both given: pick one")
    ladder = _ladder(config)
    caps_given = any(v is not None for v in caps.values()) or bool(cleared & set(caps))
    caps_only = caps_given and not any(v is not None for v in given.values()) and not cleared - set(caps)
    with open_store(db) as store:
        prefs = None
        if not caps_only:  # caps alone leave the preferences as they are (stored or not), unchecked
            prefs = _updated(store.workspace_preferences(name), given, cleared)
            _check(prefs, ladder, given, config)
        budget = _updated_budget(store, name, per_request_usd, monthly_usd, cleared)
        if prefs is not None:
            store.set_workspace_preferences(name, prefs)
        if budget is not None:
            store.put_workspace_budget(budget)  # this month's open line takes the new cap too
        shown = _gather(store, name)
    out_console().print(_describe(shown), markup=False)


@workspace_app.command("show")
@handle_errors
def show_command(name: NameArgument, json_out: JsonOption = False, db: DbOption = None) -> None:
    """A workspace's preferences (the defaults when none are stored), its caps and this month's spend."""
    from escalade.store import check_workspace_name

    check_workspace_name(name)
    with open_store(db) as store:
        shown = _gather(store, name)
    if json_out:
        print_json(json.dumps(shown))
    else:
        out_console().print(_describe(shown), markup=False)


@workspace_app.command("list")
@handle_errors
def list_command(json_out: JsonOption = False, db: DbOption = None) -> None:
    """Workspaces with stored preferences or a budget."""
    with open_store(db) as store:
        prefs = set(store.preferences.names())
        budgets = set(store.budgets.workspaces())
        names = store.workspaces()
    rows = [{"workspace": n, "preferences_set": n in prefs, "budget_set": n in budgets} for n in names]
    if json_out:
        print_json(json.dumps({"workspaces": rows}))
        return
    if not rows:
        out_console().print(
            "no workspace stored (`escalade workspace set NAME --default-tier T` adds one)", markup=False
        )
    width = max((len(n) for n in names), default=0)
    for row in rows:
        kept = [what for what, key in (("preferences", "preferences_set"), ("budget", "budget_set")) if row[key]]
        out_console().print(f"{row['workspace']:<{width}}  {', '.join(kept)}", markup=False)


def _parse_models(values: list[str]) -> dict[str, tuple[str, ...]]:
    """``TIER=MODEL`` options grouped by tier, in the order given."""
    models: dict[str, list[str]] = {}
    for value in values:
        tier, sep, name = value.partition("=")
        if not sep or not tier.strip() or not name.strip():
            raise fail(f"--model {value!r}: write TIER=MODEL, e.g. --model cheap=openai/gpt-4o-mini")
        models.setdefault(tier.strip(), []).append(name.strip())
    return {tier: tuple(names) for tier, names in models.items()}


def _parse_policy(value: str) -> Any:
    from escalade.exceptions import ConfigError
    from escalade.plugins import SCORERS, available
    from escalade.routing import QualityPolicy

    try:
        policy = QualityPolicy.parse(value)
        policy.check_scorer(available(SCORERS))
    except ConfigError as exc:
        raise fail(f"--quality-policy {value!r}: {exc.message}") from None
    return policy


def _parse_clear(values: list[str]) -> set[str]:
    fields = set()
    for value in values:
        field = value.strip().lower().replace("-", "_").removeprefix("__")
        field = _ALIASES.get(field, field)
        if field not in _OPTIONS:
            names = ", ".join(f.replace("_", "-") for f in _OPTIONS)
            raise fail(f"--clear {value!r}: no such field; fields: {names}")
        fields.add(field)
    return fields


def _ladder(config: Path | None) -> Ladder:
    from escalade.ladder import Ladder, load_config

    return Ladder.default() if config is None else load_config(config).tiers


def _updated(current: WorkspacePreferences, given: Mapping[str, Any], cleared: set[str]) -> WorkspacePreferences:
    """``current`` with the given fields set (a tier's models replaced) and the cleared ones at their defaults."""
    import dataclasses

    from escalade.exceptions import ConfigError
    from escalade.routing import WorkspacePreferences

    defaults = WorkspacePreferences()
    changes: dict[str, Any] = {f: getattr(defaults, f) for f in cleared if hasattr(defaults, f)}
    for field, value in given.items():
        if value is None:
            continue
        changes[field] = {**current.preferred_models, **value} if field == "preferred_models" else value
    try:
        return dataclasses.replace(current, **changes)
    except ConfigError as exc:
        raise _bad(exc, given) from None


def _check(prefs: WorkspacePreferences, ladder: Ladder, given: Mapping[str, Any], config: Path | None) -> None:
    """Tier names on ``ladder``, bounds in order, and each given model on its tier when the tier lists models."""
    from escalade.exceptions import ConfigError

    try:
        prefs.check(ladder)
    except ConfigError as exc:
        raise _bad(exc, given, prefs, config) from None
    for tier, models in (given.get("preferred_models") or {}).items():
        offered = ladder[tier].models
        for name in models:
            if offered and name not in offered:
                where = f" in {config}" if config else ""
                raise fail(f"--model {tier}={name}: not one of tier {tier!r}'s models{where} ({', '.join(offered)})")


def _bad(
    exc: ConfigError,
    given: Mapping[str, Any],
    prefs: WorkspacePreferences | None = None,
    config: Path | None = None,
) -> typer.Exit:
    """The error line for a bad field: the option and the value, or the stored value when it was not given."""
    field = (exc.field or "").split(".")[0]
    if given.get(field) is None and field in _TIERS:  # crossed bounds: name the tier option that was given
        field = next((f for f in _TIERS if given.get(f) is not None), field)
    option = _OPTIONS.get(field, field)
    value = given.get(field)
    if value is not None:
        if field == "preferred_models":
            value = " ".join(f"{t}={m}" for t, ms in value.items() for m in ms)
        elif field == "preferred_providers":
            value = " ".join(value)
        return fail(f"{option} {str(value)!r}: {exc.message}")
    stored = getattr(prefs, field, None) if prefs is not None else None
    ladder = f"the ladder of {config}" if config else "the default ladder (pass --config for another)"
    return fail(
        f"the stored {field} {stored!r} does not fit {ladder}: {exc.message} "
        f"(set {option} or --clear {field.replace('_', '-')})"
    )


def _updated_budget(
    store: SqlStore, name: str, per_request: str | None, monthly: str | None, cleared: set[str]
) -> WorkspaceBudget | None:
    """The workspace's budget with the given caps, or ``None`` when no cap option was given."""
    from escalade.budget import WorkspaceBudget
    from escalade.exceptions import ConfigError

    if per_request is None and monthly is None and not cleared & {"per_request_usd", "monthly_usd"}:
        return None
    current = store.workspace_budget(name) or WorkspaceBudget(workspace=name)
    per = current.per_request_limit_usd if per_request is None else _usd_or_none(per_request, "--per-request-usd")
    month = current.monthly_limit_usd if monthly is None else _usd_or_none(monthly, "--monthly-usd")
    per = None if "per_request_usd" in cleared else per
    month = None if "monthly_usd" in cleared else month
    try:
        return WorkspaceBudget(
            workspace=name, monthly_limit_usd=month, per_request_limit_usd=per, timezone=current.timezone
        )
    except ConfigError as exc:
        option = "--monthly-usd" if exc.field == "monthly_limit_usd" else "--per-request-usd"
        value = monthly if option == "--monthly-usd" else per_request
        raise fail(f"{option} {value!r}: {exc.message}") from None


def _gather(store: SqlStore, name: str) -> dict[str, Any]:
    """What ``show`` prints: preferences (stored or default), the caps and this month's line."""
    from escalade.budget import WorkspaceBudget
    from escalade.routing import WorkspacePreferences

    stored = store.stored_workspace_preferences(name)
    prefs = WorkspacePreferences() if stored is None else stored
    budget_stored = store.workspace_budget(name)
    budget = budget_stored or WorkspaceBudget(workspace=name)
    line: LineState | None = _month_state(store, budget)
    return {
        "workspace": name,
        "preferences_set": stored is not None,
        "preferences": prefs.to_dict(),
        "budget_set": budget_stored is not None,
        "budget": {
            "monthly_limit_usd": budget.monthly_limit_usd,
            "per_request_limit_usd": budget.per_request_limit_usd,
            "timezone": budget.timezone,
            "month": budget.month(datetime.now(UTC)),
            "spent_usd": line.spent_usd if line else 0.0,
            "reserved_usd": line.reserved_usd if line else 0.0,
            "left_usd": line.left_usd if line else budget.monthly_limit_usd,
        },
    }


def _describe(shown: Mapping[str, Any]) -> str:
    p, b = shown["preferences"], shown["budget"]
    models = "; ".join(f"{tier}: {', '.join(names)}" for tier, names in p["preferred_models"].items())
    lines = [
        f"workspace {shown['workspace']}"
        + ("" if shown["preferences_set"] else " (no preferences stored: the defaults)"),
        f"  min tier: {p['min_tier'] or 'none'}   max tier: {p['max_tier'] or 'none'}   "
        f"default tier: {p['default_tier'] or 'none (classified)'}",
        f"  preferred providers: {', '.join(p['preferred_providers']) or 'none'}",
        f"  preferred models: {models or 'none'}",
        f"  auto-escalation: {'on' if p['auto_escalation'] else 'off'}",
        f"  quality policy: {p['quality_policy'] or 'none (the run scorer and each tier threshold)'}",
        (
            f"  budget: monthly cap {_money(b['monthly_limit_usd'])}, per-request cap "
            f"{_money(b['per_request_limit_usd'])}, months in {b['timezone']}"
            if shown["budget_set"]
            else "  budget: none set (no monthly or per-request cap)"
        ),
        f"  {b['month']}: spent {_money(b['spent_usd'])}, reserved {_money(b['reserved_usd'])}"
        + (f", left {_money(b['left_usd'])}" if b["left_usd"] is not None else ""),
    ]
    return "\n".join(lines)
