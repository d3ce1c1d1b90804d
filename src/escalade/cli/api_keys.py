"""``escalade api-key create|list|revoke``: the API keys of ``escalade serve``, per workspace.

``create`` prints the new key once; the store keeps only its SHA-256, so a lost key cannot be shown
again (revoke it and create another). ``create --person ana --role sre`` makes a per-person token:
it signs ana in to the web inbox (``/inbox``), holding the role ``sre``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from escalade.cli.common import DbOption, JsonOption, fail, handle_errors, open_store, out_console, print_json

__all__ = ["api_key_app"]

api_key_app = typer.Typer(help="API keys of escalade serve (shown once, stored as a hash).", no_args_is_help=True)


@api_key_app.command("create")
@handle_errors
def create_command(
    workspace: Annotated[str, typer.Option(help="Workspace the key reads and spends in.")],
    name: Annotated[str | None, typer.Option(help="A label for people: who or what uses the key.")] = None,
    person: Annotated[
        str | None, typer.Option(help="A per-person token: the person it signs in to the web inbox.")
    ] = None,
    role: Annotated[
        list[str] | None, typer.Option("--role", metavar="ROLE", help="A role of the person (repeat).")
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Create a key of WORKSPACE (created if needed) and print it, this once."""
    with open_store(db) as store:
        made = store.api_keys.create(workspace, name=name, person=person, roles=tuple(role or ()))
    if json_out:
        print_json(json.dumps({**made.to_dict(), "key": made.key}))
        return
    console = out_console()
    console.print(made.key, markup=False, highlight=False)
    holder = f" for {made.person}" + (f" ({', '.join(made.roles)})" if made.roles else "") if made.person else ""
    console.print(
        f"key {made.id} of workspace {workspace}{holder}: shown this once, stored only as a hash",
        markup=False,
        style="dim",
    )


@api_key_app.command("list")
@handle_errors
def list_command(
    workspace: Annotated[str | None, typer.Option(help="Only this workspace's keys.")] = None,
    include_revoked: Annotated[bool, typer.Option("--all", help="Revoked keys too.")] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Keys by id, workspace and label (never the keys themselves)."""
    with open_store(db) as store:
        keys = store.api_keys.list(workspace, include_revoked=include_revoked)
    if json_out:
        print_json(json.dumps({"keys": [k.to_dict() for k in keys]}))
        return
    console = out_console()
    if not keys:
        console.print("no API keys" + (f" in workspace {workspace}" if workspace else ""), markup=False)
    for key in keys:
        revoked = f"  revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else ""
        label = f"  {key.name}" if key.name else ""
        label += f"  person {key.person}" if key.person else ""
        console.print(
            f"{key.id}  {key.workspace}{label}  created {key.created_at:%Y-%m-%d %H:%M}{revoked}", markup=False
        )


@api_key_app.command("revoke")
@handle_errors
def revoke_command(
    key_id: Annotated[str, typer.Argument(help="The key's id (api-key list shows it).")],
    workspace: Annotated[str | None, typer.Option(help="Revoke only if the key is this workspace's.")] = None,
    db: DbOption = None,
) -> None:
    """Revoke a key: every replica refuses it from its next request."""
    with open_store(db) as store:
        revoked = store.api_keys.revoke(key_id, workspace=workspace)
    if not revoked:
        where = f" in workspace {workspace!r}" if workspace else ""
        raise fail(f"no active API key {key_id!r}{where}")
    out_console().print(f"key {key_id} revoked", markup=False)
