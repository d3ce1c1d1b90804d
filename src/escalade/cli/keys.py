"""``escalade keys set|list|delete``: a workspace's provider keys, encrypted; values are never printed."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from escalade.cli.common import DbOption, JsonOption, fail, handle_errors, open_store, out_console, print_json

__all__ = ["keys_app"]

keys_app = typer.Typer(help="Store provider API keys (encrypted with ESCALADE_MASTER_KEY).", no_args_is_help=True)

WorkspaceOption = Annotated[str, typer.Option(help="Workspace the key belongs to.")]


@keys_app.command("set")
@handle_errors
def set_command(
    provider: Annotated[str, typer.Argument(help="Provider id: openai, anthropic, openrouter, google, ...")],
    workspace: WorkspaceOption = "default",
    db: DbOption = None,
) -> None:
    """Store a key, read from a hidden prompt (or from standard input when piped), never from arguments."""
    from escalade.store import KeyVault

    key = typer.prompt(f"API key for {provider}", hide_input=True) if sys.stdin.isatty() else sys.stdin.readline()
    key = key.strip()
    if not key:
        raise fail(f"no key given for {provider!r}")
    with open_store(db) as store:
        KeyVault(store).set(provider, key, workspace=workspace)
    out_console().print(f"key for {provider} stored (encrypted) in workspace {workspace}", markup=False)


@keys_app.command("list")
@handle_errors
def list_command(workspace: WorkspaceOption = "default", db: DbOption = None, json_out: JsonOption = False) -> None:
    """Providers that have a stored key (names only)."""
    with open_store(db) as store:
        names = store.provider_key_names(workspace)
    if json_out:
        print_json(json.dumps({"workspace": workspace, "providers": names}))
    else:
        out_console().print("\n".join(names) if names else f"no keys stored in workspace {workspace}", markup=False)


@keys_app.command("delete")
@handle_errors
def delete_command(
    provider: Annotated[str, typer.Argument(help="Provider id.")],
    workspace: WorkspaceOption = "default",
    db: DbOption = None,
) -> None:
    """Remove a stored key."""
    from escalade.store import KeyVault

    with open_store(db) as store:
        removed = KeyVault(store).delete(provider, workspace=workspace)
    if not removed:
        raise fail(f"no key stored for {provider!r} in workspace {workspace!r}")
    out_console().print(f"key for {provider} removed from workspace {workspace}", markup=False)
