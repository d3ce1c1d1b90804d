"""``escalade audit verify|show``: the hash-chained audit trail of escalation decisions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from escalade.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED_RUN,
    DbOption,
    JsonOption,
    fail,
    handle_errors,
    open_store,
    out_console,
    print_json,
)

if TYPE_CHECKING:
    from escalade.autonomy import AuditHead

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="The audit trail of escalation decisions: verify it, or show its entries.", no_args_is_help=True
)


def _anchor(value: str | None) -> AuditHead | None:
    from escalade.autonomy import AuditHead

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
    """Check the chain and every table row it vouches for; name the first entry or row edited, removed or moved.

    Exit 1 when something was edited, removed or moved (or, with a key, nothing is sealed with it);
    exit 2 when ESCALADE_AUDIT_KEY is missing or is not the key the entries are sealed with.
    """
    from escalade.autonomy import audit_key, verify_trail
    from escalade.store import SqlAutonomyStore

    expected = _anchor(anchor)
    with open_store(db) as store:
        report = verify_trail(SqlAutonomyStore(store.engine), key=audit_key(), anchor=expected)
    if json_out:
        print_json(json.dumps(report.to_dict()))
    elif report.ok:
        out_console().print(report.describe(), markup=False)
        if report.anchor is not None:
            out_console().print(f"anchor: {report.anchor} (keep it elsewhere; pass it to --anchor later)", markup=False)
    if not report.ok:
        bad_key = report.cause in ("missing_key", "wrong_key")  # the input (ESCALADE_AUDIT_KEY), not the trail
        raise fail(report.describe(), EXIT_BAD_INPUT if bad_key else EXIT_FAILED_RUN)


@audit_app.command("show")
@handle_errors
def show_command(
    after: Annotated[int, typer.Option(help="Show entries after this position.")] = 0,
    limit: Annotated[int, typer.Option(help="At most this many entries.", min=1)] = 50,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Print audit entries in order (one JSON object per line with --json)."""
    from escalade.store import SqlAutonomyStore

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
