"""``escalade inbox``: the escalated decisions waiting for people, shown, answered and waited for.

``escalade decide`` puts each escalated decision in the inbox (its answer line gains ``inbox_id``);
``list`` shows what waits, ``show`` one item through its template, ``respond`` reads answers as JSON
lines (``{"id": <inbox id or decision id>, "action": "approve", "by": "ana", ...}``) and writes one
result line each, and ``wait`` blocks until an item is answered (or its time runs out).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from escalade.cli.common import DbOption, JsonOption, fail, handle_errors, open_store, out_console, print_json
from escalade.cli.decide import answer_each

if TYPE_CHECKING:
    from escalade.inbox import Inbox, InboxItem
    from escalade.store import SqlStore

__all__ = ["inbox_app"]

inbox_app = typer.Typer(help="Escalated decisions waiting for people: list, show, respond, wait.", no_args_is_help=True)

WorkspaceOption = Annotated[str, typer.Option(help="The workspace whose inbox it is.")]
RoleOption = Annotated[
    list[str] | None, typer.Option("--role", metavar="ROLE", help="Roles of the person answering (repeat).")
]


def _inbox(store: SqlStore) -> Inbox:
    from escalade.autonomy import EscalationEngine
    from escalade.inbox import Inbox
    from escalade.store import SqlAutonomyStore

    return Inbox(store.inbox, EscalationEngine(SqlAutonomyStore(store.engine)))


def _line(item: InboxItem) -> str:
    age = (datetime.now(UTC) - item.created_at).total_seconds()
    who = ",".join(item.assignees) or "anyone"
    text = item.description if len(item.description) <= 70 else item.description[:67] + "..."
    kind = f"{item.priority.value:8} {item.type.value:13} {item.state.value:9}"
    return f"{item.id}  {kind} {age / 60:6.0f} min  {who:14} {text}"


@inbox_app.command("list")
@handle_errors
def list_command(
    workspace: WorkspaceOption = "default",
    person: Annotated[str | None, typer.Option(help="Only what this person may answer.")] = None,
    role: RoleOption = None,
    all_states: Annotated[bool, typer.Option("--all", help="Answered and expired items too.")] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """What waits for a person, most urgent first (``--all``: every item, oldest first)."""
    with open_store(db) as store:
        inbox = _inbox(store)
        if all_states:
            items = store.inbox.items(workspace)
        else:
            items = inbox.open_items(workspace, person=person, roles=tuple(role or ()))
    if json_out:
        print_json(json.dumps({"items": [i.to_dict() for i in items]}))
        return
    console = out_console()
    if not items:
        console.print("nothing waits for a person", markup=False)
    for item in items:
        console.print(_line(item), markup=False)


@inbox_app.command("show")
@handle_errors
def show_command(
    ref: Annotated[str, typer.Argument(metavar="ID", help="The inbox id or the decision's own id.")],
    workspace: WorkspaceOption = "default",
    fmt: Annotated[str, typer.Option("--format", help="text, markdown or html.")] = "text",
    templates: Annotated[
        Path | None, typer.Option("--templates", help="A folder of <kind>.j2 templates (else the built-ins).")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """One item, rendered through its template (``--json``: its fields)."""
    from escalade.inbox import FORMATS, Templates

    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    chosen = Templates.load(templates) if templates is not None else Templates()
    with open_store(db) as store:
        item = _inbox(store).get(ref, workspace=workspace)
    if json_out:
        print_json(json.dumps(item.to_dict()))
        return
    sys.stdout.write(chosen.render(item, fmt))  # checked against FORMATS above


@inbox_app.command("respond")
@handle_errors
def respond_command(workspace: WorkspaceOption = "default", role: RoleOption = None, db: DbOption = None) -> None:
    """Read answers as JSON lines on stdin; write one result line each (a bad line gets its error, the rest go on)."""
    from escalade.exceptions import InboxError

    roles = tuple(role or ())
    with open_store(db) as store:
        inbox = _inbox(store)

        def answer(line: Any) -> dict[str, Any]:
            given = dict(line)
            ref = given.pop("id", None)
            if not isinstance(ref, str) or not ref:
                raise InboxError("each line needs the item's 'id' (its inbox id or its decision's id)", field="id")
            item = inbox.respond(ref, given, workspace=workspace, roles=roles)
            return {"inbox_id": item.id, "decision_id": item.decision_id, "state": item.state.value}

        _, failed = answer_each(sys.stdin, answer, errors=(InboxError,))
    if failed:
        raise typer.Exit(1)


@inbox_app.command("wait")
@handle_errors
def wait_command(
    ref: Annotated[str, typer.Argument(metavar="ID", help="The inbox id or the decision's own id.")],
    workspace: WorkspaceOption = "default",
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most.")] = 300.0,
    db: DbOption = None,
) -> None:
    """Wait until a person answers the item; print it as JSON (exit 2 when the time runs out first)."""
    with open_store(db) as store:
        found = asyncio.run(_inbox(store).wait(ref, workspace=workspace, timeout_s=timeout))
    if found is None:
        raise fail(f"no answer to {ref!r} within {timeout:g} s", code=2)
    print_json(json.dumps(found.to_dict()))


@inbox_app.command("stats")
@handle_errors
def stats_command(
    workspace: WorkspaceOption = "default",
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Response times, batch efficiency, interruptions per person and the override rate (seed 004 §10)."""
    from escalade.inbox import inbox_stats, workspace_items

    with open_store(db) as store:
        stats = inbox_stats(workspace_items(store.inbox, workspace), now=datetime.now(UTC))
    if json_out:
        print_json(json.dumps(stats.to_dict()))
        return
    console = out_console()
    shown = {k: v for k, v in stats.to_dict().items() if k not in ("by_person", "by_action")}
    for name, value in shown.items():
        console.print(f"{name:20} {'-' if value is None else value}", markup=False)
    for person, p in stats.by_person.items():
        console.print(
            f"{person:20} {p.answered} answered in {p.interruptions} interruptions "
            f"({p.questions_per_interruption} per interruption, {p.interruptions_per_day}/day), "
            f"{p.overrides} overrides, {p.mean_response_s:.0f} s on average",
            markup=False,
        )
