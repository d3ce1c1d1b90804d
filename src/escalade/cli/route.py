"""``escalade route``: where a task would start, and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from escalade.cli.common import DbOption, JsonOption, fail, handle_errors, open_store, out_console, print_json

if TYPE_CHECKING:
    from escalade.routing import RoutingDecision, WorkspacePreferences

__all__ = ["route_command"]


def _decision_dict(decision: RoutingDecision) -> dict[str, Any]:
    analysis = decision.analysis
    return {
        "tier": decision.tier,
        "models": list(decision.models),
        "confidence": decision.confidence,
        "overridden": decision.overridden,
        "reasons": list(decision.reasons),
        "triggers": [
            {"name": t.name, "category": t.category.value, "confidence": t.confidence, "evidence": list(t.evidence)}
            for t in decision.triggers
        ],
        "validations": [{"trigger": v.trigger.name, "escalate": v.escalate} for v in decision.validations],
        "analysis": None
        if analysis is None
        else {
            "complexity": {"level": str(analysis.complexity.level), **analysis.complexity.basis},
            "business_impact": {"level": str(analysis.business_impact.level), **analysis.business_impact.basis},
            "risk": {"level": str(analysis.risk.level), **analysis.risk.basis},
            "unparseable": [{"path": p, "reason": r} for p, r in analysis.unparseable],
        },
    }


@handle_errors
def route_command(
    description: Annotated[str, typer.Argument(help="What the task asks for.")],
    file: Annotated[
        list[Path] | None, typer.Option("--file", help="A file the task modifies (repeatable; Python files are read).")
    ] = None,
    task_type: Annotated[str | None, typer.Option(help="Kind of work: implementation, bugfix, docs, ...")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML configuration with the ladder.")] = None,
    triggers: Annotated[Path | None, typer.Option(help="TOML file of custom triggers.")] = None,
    router: Annotated[
        Path | None, typer.Option(help="A router artifact to classify with (escalade router fit).")
    ] = None,
    workspace: Annotated[
        str | None, typer.Option(help="Route with this workspace's stored preferences (escalade workspace set).")
    ] = None,
    min_tier: Annotated[str | None, typer.Option(help="Workspace lower bound.")] = None,
    max_tier: Annotated[str | None, typer.Option(help="Workspace upper bound.")] = None,
    default_tier: Annotated[
        str | None, typer.Option(help="Workspace default tier (ahead of the classifier; an override still wins).")
    ] = None,
    override: Annotated[str | None, typer.Option(help="Start on this tier regardless of everything else.")] = None,
    no_auto_escalation: Annotated[
        bool, typer.Option("--no-auto-escalation", help="Report triggers and risk without acting on them.")
    ] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show the tier a task would start on, with its triggers, context analysis and reasons."""
    from escalade.ladder import load_config
    from escalade.routing import (
        ContextAnalyzer,
        LearnedClassifier,
        Router,
        Task,
        TriggerDetector,
        load_trigger_patterns,
    )
    from escalade.routing.learned import load_router

    paths = file or []
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise fail(f"file not found: {missing[0]}")
    ladder = load_config(config).tiers
    contents = {str(p): p.read_text(encoding="utf-8", errors="replace") for p in paths if p.suffix == ".py"}
    task = Task(description, task_type, tuple(str(p) for p in paths), contents)
    detector = TriggerDetector(load_trigger_patterns(triggers)) if triggers is not None else TriggerDetector()
    chosen = Router(ladder, detector=detector, analyzer=ContextAnalyzer())
    if router is not None:
        artifact = load_router(router)
        chosen = Router(ladder, detector=detector, classifier=LearnedClassifier(artifact.router, artifact.cutoff))
    prefs = _preferences(workspace, db, min_tier, max_tier, default_tier, no_auto_escalation)
    decision = chosen.route(task, prefs, override=override)
    data = _decision_dict(decision)
    if json_out:
        print_json(json.dumps(data))
        return
    table = Table("", "value", title=f"start on {decision.tier!r} (confidence {decision.confidence:.2f})")
    for reason in decision.reasons:
        table.add_row("reason", reason)
    for t in decision.triggers:
        table.add_row("trigger", f"{t.name} ({t.category.value}, {t.confidence:.2f})")
    if decision.analysis is not None and (decision.analysis.files or decision.analysis.unparseable):
        for name in ("complexity", "business_impact", "risk"):
            table.add_row(name, str(data["analysis"][name]["level"]))
    out_console().print(table)


def _preferences(
    workspace: str | None,
    db: str | None,
    min_tier: str | None,
    max_tier: str | None,
    default_tier: str | None,
    no_auto_escalation: bool,
) -> WorkspacePreferences:
    """The stored preferences of ``workspace`` (none: the defaults), with the options given replacing their fields."""
    import dataclasses

    from escalade.routing import WorkspacePreferences

    prefs = WorkspacePreferences()
    if workspace is not None:
        with open_store(db) as store:
            prefs = store.workspace_preferences(workspace)
    given = {"min_tier": min_tier, "max_tier": max_tier, "default_tier": default_tier}
    changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if no_auto_escalation:
        changes["auto_escalation"] = False
    return dataclasses.replace(prefs, **changes) if changes else prefs
