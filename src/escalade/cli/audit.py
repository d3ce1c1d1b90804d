"""``escalade audit verify|show``: the hash-chained audit trail of escalation decisions."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from escalade.autonomy.audit import AuditHead, audit_key, verify_chain
from escalade.cli.common import DbOption, JsonOption, fail, handle_errors, open_store, out_console, print_json
from escalade.store.autonomy import SqlAutonomyStore

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="The audit trail of escalation decisions: verify it, or show its entries.", no_args_is_help=True
)


def _anchor(value: str | None) -> AuditHead | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise fail(f"--anchor must be SEQ:HASH as printed by `escalade audit verify`, got {value!r}")
    return AuditHead(int(seq), digest)


@audit_app.command("verify")
@handle_errors
def verify_command(
    anchor: Annotated[
        str | None, typer.Option(help="SEQ:HASH printed by an earlier verify; it must still be in the chain.")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Check every link of the chain; exit 1 and name the first bad entry if any was edited, removed or moved."""
    expected = _anchor(anchor)
    with open_store(db) as store:
        trail = SqlAutonomyStore(store.engine)
        head = trail.audit_head()
        report = verify_chain(
            trail.audit_entries(), head, audit_key(), referenced=trail.highest_audit_reference(), anchor=expected
        )
    if json_out:
        shown = f"{head.seq}:{head.hash}" if head else None
        print_json(json.dumps({**report.to_dict(), "anchor": shown if report.ok else None}))
    elif report.ok:
        out_console().print(report.describe(), markup=False)
        if head is not None and head.seq:
            out_console().print(
                f"anchor: {head.seq}:{head.hash} (keep it elsewhere; pass it to --anchor later)", markup=False
            )
    if not report.ok:
        raise fail(report.describe(), 1)


@audit_app.command("show")
@handle_errors
def show_command(
    after: Annotated[int, typer.Option(help="Show entries after this position.")] = 0,
    limit: Annotated[int, typer.Option(help="At most this many entries.", min=1)] = 50,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Print audit entries in order (one JSON object per line with --json)."""
    with open_store(db) as store:
        entries = SqlAutonomyStore(store.engine).audit_entries(after=after, limit=limit)
    for entry in entries:
        body = entry.content()
        if json_out:
            print_json(json.dumps({"seq": entry.seq, "hash": entry.hash, **body}))
            continue
        payload = body.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        kind = str(body.get("kind", "unreadable (edited?)"))
        escalated = payload.get("escalate")
        what = ""
        if kind == "decision" and isinstance(escalated, bool):
            what = "escalated" if escalated else "proceeded"
        if kind == "outcome":
            what = f"verdict {payload.get('verdict')}"
        out_console().print(
            f"{entry.seq:6d}  {str(body.get('at', ''))[:19]:19}  {kind:11} "
            f"{body.get('workspace')}/{body.get('decision_id') or '-'}  {what}  {entry.hash[:12]}",
            markup=False,
        )
