"""The package's public API: ``__all__`` is complete and sorted."""

from __future__ import annotations

import subprocess
import sys

import escalade


def test_all_is_sorted_and_complete() -> None:
    """Every public name defined in the package is exported, in sorted order."""
    exported = set(escalade.__all__)
    public = {name for name in dir(escalade) if not name.startswith("_")} | {"__version__"}
    modules = {name for name in public if type(getattr(escalade, name)).__name__ == "module"}
    assert exported == public - modules
    assert escalade.__all__ == sorted(escalade.__all__)


def test_core_imports_no_cli_or_web_framework() -> None:
    """The core modules import neither Typer, Rich nor a web framework."""
    code = (
        "import sys, escalade.autonomy, escalade.budget, escalade.calibration, escalade.cascade, escalade.ladder,"
        " escalade.quality, escalade.replay, escalade.reporting, escalade.routing, escalade.store;"
        "bad = [m for m in ('typer', 'rich', 'fastapi', 'openai', 'anthropic') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
