"""Nothing happens at import time: ``import escalade`` and ``escalade --help`` load no heavy library."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import escalade
from escalade.autonomy import DEFAULT_PROFILE
from escalade.cli import app
from escalade.cli.common import DEFAULT_PROFILE as CLI_DEFAULT_PROFILE

#: What a bare ``import escalade`` or ``escalade --help`` must not load; each is loaded where it is used.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "scipy",
    "sklearn",
    "numpy",
    "radon",
    "pydantic",
    "genai_prices",
    "httpx",  # its top-level import pulls in its own command line (rich, click)
    "tenacity",
    "openai",
    "anthropic",
)


def _loaded(code: str) -> tuple[list[str], str]:
    """Run ``code`` in a fresh interpreter; the heavy modules it left in ``sys.modules``, and what it printed."""
    probe = f"{code}\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    *printed, last = done.stdout.splitlines()
    return ast.literal_eval(last), "\n".join(printed)


def test_import_escalade_loads_nothing_heavy() -> None:
    """A bare ``import escalade`` loads none of them, nor asyncio, Typer or Rich; ``dir()`` still lists every name."""
    loaded, printed = _loaded(
        "import sys, escalade\n"
        "print(set(escalade.__all__) <= set(dir(escalade)), "
        "[m for m in ('asyncio', 'typer', 'rich') if m in sys.modules])"
    )
    assert (loaded, printed) == ([], "True []")


def test_reading_a_name_loads_only_its_subpackage() -> None:
    """``escalade.Tier`` loads the ladder, not the store or the statistics."""
    loaded, _ = _loaded("import escalade\nescalade.Tier")
    assert loaded == ["pydantic"]  # the ladder's TOML and environment models


def _helps(*invocations: list[str]) -> tuple[list[str], str]:
    """The heavy modules left loaded after each ``escalade ... --help`` of ``invocations``, in one fresh interpreter."""
    calls = "\n".join(f"show({[*args, '--help']!r})" for args in invocations)
    return _loaded(
        "from escalade.cli import app\n"
        "def show(args):\n"
        "    try:\n"
        "        app(args, prog_name='escalade', standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"{calls}"
    )


def test_help_loads_nothing_heavy() -> None:
    """``escalade --help`` loads none of them."""
    loaded, printed = _helps([])
    assert loaded == []
    assert printed.count("Usage: escalade") == 1


def test_command_help_loads_nothing_heavy() -> None:
    """Every command's and group's ``--help`` loads none of them but pydantic, which Typer parses options with."""
    names = [command.name for command in app.registered_commands] + [group.name for group in app.registered_groups]
    loaded, printed = _helps(*([name] for name in names if name))
    assert loaded == ["pydantic"]
    assert printed.count("Usage: escalade") == len(names)


def test_help_lists_every_command() -> None:
    """``python -m escalade.cli --help`` lists each command and group with its help line."""
    done = subprocess.run(
        [sys.executable, "-m", "escalade.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    listed = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("│ ") and len(line.split()) > 2}
    commands = {command.name for command in app.registered_commands} | {group.name for group in app.registered_groups}
    assert len(commands) == 21
    assert commands <= listed


def test_cli_default_profile_is_the_engines() -> None:
    """``decide --profile``'s default, named in the CLI so that ``--help`` need not load the engine, is the engine's."""
    assert CLI_DEFAULT_PROFILE == DEFAULT_PROFILE


def test_version_needs_no_import() -> None:
    """``escalade.__version__`` is a plain attribute of the root."""
    assert isinstance(escalade.__version__, str)
