"""The Typer application and its entry point."""

from __future__ import annotations

import traceback
from typing import Annotated

import typer

from escalade.cli import analytics, ask, calibrate, decide, evaluate, route, run, runs, serve, testgen
from escalade.cli.api_keys import api_key_app
from escalade.cli.audit import audit_app
from escalade.cli.budget import budget_app
from escalade.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    debugging,
    exit_code,
    fail,
    out_console,
    set_debug,
    unexpected,
)
from escalade.cli.inbox import inbox_app
from escalade.cli.keys import keys_app
from escalade.cli.logs import configure_logging, log_level
from escalade.cli.router import router_app
from escalade.cli.verifier import verifier_app
from escalade.cli.workspace import workspace_app
from escalade.exceptions import ConfigError

__all__ = ["app", "main"]

app = typer.Typer(
    name="escalade",
    help="Route AI work up a ladder of tiers (cheap → capable → premium) only when quality demands it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out_console().print(f"escalade {version('escalade')}", markup=False)
        raise typer.Exit(EXIT_OK)


@app.callback()
def _global_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an error (also: ESCALADE_DEBUG=1).")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print escalade's version and exit."),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            show_default=False,
            help="Log to stderr: -v info, -vv debug (each decision and why); or ESCALADE_LOG_LEVEL. "
            "Prompts, answers and keys are never logged.",
        ),
    ] = 0,
) -> None:
    set_debug(debug)
    try:
        configure_logging(log_level(verbose))
    except ConfigError as exc:
        raise fail(str(exc), exit_code(exc)) from None


app.command("run")(run.run_command)
app.command("ask")(ask.ask_command)
app.command("list")(runs.list_command)
app.command("show")(runs.show_command)
app.command("cleanup")(runs.cleanup_command)
app.command("analytics")(analytics.analytics_command)
app.command("eval")(evaluate.eval_command)
app.command("calibrate")(calibrate.calibrate_command)
app.command("route")(route.route_command)
app.command("testgen")(testgen.generate_tests_command)
app.command("decide")(decide.decide_command)
app.command("outcome")(decide.outcome_command)
app.command("serve")(serve.serve_command)
app.add_typer(router_app, name="router")
app.add_typer(verifier_app, name="verifier")
app.add_typer(keys_app, name="keys")
app.add_typer(budget_app, name="budget")
app.add_typer(audit_app, name="audit")
app.add_typer(inbox_app, name="inbox")
app.add_typer(workspace_app, name="workspace")
app.add_typer(api_key_app, name="api-key")


def main() -> None:
    """Console-script entry point: usage errors, and errors outside any command, are one ``error:`` line too."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        raise SystemExit(fail("aborted", EXIT_INTERRUPTED).exit_code) from None
    except typer.TyperException as exc:  # usage errors: bad option value, missing argument, ...
        raise SystemExit(fail(exc.format_message(), exc.exit_code).exit_code) from None
    except Exception as exc:
        if not debugging():
            raise SystemExit(unexpected(exc).exit_code) from None
        traceback.print_exception(exc)
        raise SystemExit(exit_code(exc)) from None
    raise SystemExit(code if isinstance(code, int) else EXIT_OK)
