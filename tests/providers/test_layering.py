"""Providers sit below the layers that use them: no module of ``escalade.providers`` imports one of those."""

from __future__ import annotations

import ast
from pathlib import Path

import escalade.providers

_ABOVE = ("escalade.config", "escalade.datasets", "escalade.keys", "escalade.replay", "escalade.store")


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[str]:
    """Modules ``tree`` imports when it runs (imports under ``if TYPE_CHECKING:`` are for types only)."""
    found: list[str] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
        pending.extend(ast.iter_child_nodes(node))
    return found


def test_providers_import_no_layer_above() -> None:
    """Neither at module level nor inside functions do providers import config, datasets, keys, replay or store."""
    package = Path(escalade.providers.__file__).parent
    offending = {
        f"{path.relative_to(package)}: {module}"
        for path in sorted(package.rglob("*.py"))
        for module in _runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
        if any(module == above or module.startswith(f"{above}.") for above in _ABOVE)
    }
    assert not offending
