"""The package's public API: the root's curated ``__all__``, and each package's ``__all__``, sorted and resolving."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import escalade

SRC = Path(escalade.__file__).resolve().parent

#: Every public module of the package (no ``_`` in its dotted path); the migrations run under Alembic only,
#: and ``__main__`` runs the command line when imported.
PUBLIC_MODULES = sorted(
    ".".join(("escalade", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")
    for path in SRC.rglob("*.py")
    if not any(part.startswith("_") for part in path.relative_to(SRC).with_suffix("").parts[:-1])
    and (path.name == "__init__.py" or not path.name.startswith("_"))
    and "migrations" not in path.relative_to(SRC).parts
    and path.relative_to(SRC).parts != ("__init__.py",)
)


def _ruff_order(name: str) -> tuple[int, str]:
    """How ruff sorts ``__all__`` (RUF022, isort-style): CONSTANTS, then Classes, then the rest."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def test_root_all_is_sorted_and_complete() -> None:
    """The root exports exactly its public names, in sorted order, and ``dir()`` lists them all."""
    public = {name for name in dir(escalade) if not name.startswith("_")} | {"__version__"}
    modules = {name for name in public if isinstance(getattr(escalade, name), ModuleType)}
    assert set(escalade.__all__) == public - modules
    assert escalade.__all__ == sorted(escalade.__all__)


def test_root_names_are_their_subpackages_own() -> None:
    """Each root name is the very object a subpackage exports, and the root's lazy table names that subpackage."""
    names = [name for name in escalade.__all__ if name != "__version__"]
    assert sorted(escalade._HOMES) == sorted(names)
    for name in names:
        value = getattr(escalade, name)
        home = importlib.import_module(".".join(value.__module__.split(".")[:2]))
        assert name in home.__all__, f"{name} is not exported by {home.__name__}"
        assert getattr(home, name) is value
        assert escalade._HOMES[name] == home.__name__


def test_root_has_no_other_name() -> None:
    """A name the root does not export (here one a subpackage does) is an AttributeError, as for any module."""
    with pytest.raises(AttributeError, match="no attribute 'TriggerDetector'"):
        _ = escalade.TriggerDetector  # type: ignore[attr-defined]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_each_public_module_all_is_sorted_and_resolves(module_name: str) -> None:
    """Each public module has an ``__all__``, sorted as ruff sorts it, without repeats; every name in it exists."""
    module = importlib.import_module(module_name)
    exported = module.__all__
    assert exported == sorted(set(exported), key=_ruff_order)
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == []


def test_public_modules_are_found() -> None:
    """The module list above covers the packages and the public modules, not the private ones."""
    assert {"escalade.cli", "escalade.routing.learned", "escalade.exceptions", "escalade.cli.run"} <= set(
        PUBLIC_MODULES
    )
    assert not [name for name in PUBLIC_MODULES if "._" in name]


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
