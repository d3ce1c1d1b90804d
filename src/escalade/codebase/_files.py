"""What a Python file's code says: radon's cyclomatic complexity per function, source lines, imports.

Cyclomatic complexity per function comes from radon (McCabe's count: one plus one per branch point),
size from radon's raw metrics (source lines), imports from the file's syntax tree. Used by routing
(:class:`~escalade.routing.ContextAnalyzer`) and by the autonomy controller (familiar code).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from radon.complexity import cc_visit
from radon.raw import analyze as raw_metrics

__all__ = ["FileAnalysis", "FunctionComplexity", "analyze_file", "module_name"]


@dataclass(frozen=True)
class FunctionComplexity:
    """One function or method."""

    name: str
    lineno: int
    complexity: int


@dataclass(frozen=True)
class FileAnalysis:
    """Metrics of one parsed file."""

    path: str
    functions: tuple[FunctionComplexity, ...]
    sloc: int
    #: Top-level modules imported (``os``, ``escalade``, ...).
    imports: tuple[str, ...]

    @property
    def max_complexity(self) -> int:
        return max((f.complexity for f in self.functions), default=0)

    @property
    def mean_complexity(self) -> float:
        return sum(f.complexity for f in self.functions) / len(self.functions) if self.functions else 0.0


def module_name(path: str) -> str:
    return Path(path).stem


def _imports(tree: ast.AST) -> tuple[str, ...]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level and node.module is None:  # from . import sibling
                found.update(alias.name for alias in node.names)
            elif (node.level and node.module) or node.module:  # from .sibling import name
                found.add(node.module.split(".")[0])
    return tuple(sorted(found))


def analyze_file(path: str, source: str) -> FileAnalysis:
    """Metrics of one Python file; raises :class:`SyntaxError` when it does not parse."""
    tree = ast.parse(source, filename=path)
    functions = tuple(
        FunctionComplexity(block.fullname, block.lineno, block.complexity)
        for block in cc_visit(source)
        if type(block).__name__ == "Function"  # classes are the sum of their methods, listed apart
    )
    return FileAnalysis(path=path, functions=functions, sloc=raw_metrics(source).sloc, imports=_imports(tree))
