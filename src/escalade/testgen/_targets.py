"""What to generate tests for: the public top-level functions and classes of a Python file.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "shapes.py"
>>> source = "def area(w, h):\\n    return w * h\\n\\nclass Square:\\n    side = 1\\n\\ndef _helper():\\n    pass\\n"
>>> _ = path.write_text(source)
>>> [(t.name, t.kind, t.lineno, t.end_lineno) for t in find_targets(path).targets]
[('area', 'function', 1, 2), ('Square', 'class', 4, 5)]
"""

from __future__ import annotations

import ast
import keyword
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from escalade.exceptions import TargetFileError

__all__ = ["TargetModule", "TestTarget", "find_targets", "physical_lines"]

#: Names a target module cannot have: they would shadow the standard library or the test runner's own
#: modules inside the sandbox, or clash with its files.
_RESERVED = frozenset(
    {*sys.stdlib_module_names, "conftest", "pytest", "_pytest", "pluggy", "iniconfig", "packaging", "coverage"}
    | {"test_escalade_generated"}
)


def physical_lines(text: str) -> list[str]:
    """``text`` cut into lines as Python numbers them (at ``\\n`` only, unlike ``str.splitlines``).

    >>> physical_lines("a\\x0cb\\nc")
    ['a\\x0cb\\n', 'c']
    """
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


@dataclass(frozen=True, kw_only=True)
class TestTarget:
    """One function or class to write tests for."""

    __test__ = False  # not a pytest test class, despite its name

    #: Its name in the module.
    name: str
    kind: Literal["function", "class"]
    #: First and last line of its definition (decorators included).
    lineno: int
    end_lineno: int
    #: Its source text.
    source: str


@dataclass(frozen=True, kw_only=True)
class TargetModule:
    """A Python file and what in it is to be tested."""

    path: Path
    #: Name the tests import it by (the file name without ``.py``).
    module: str
    #: The whole file, given to the model as context.
    source: str
    targets: tuple[TestTarget, ...]


def find_targets(path: Path) -> TargetModule:
    """The public top-level functions and classes of ``path``, in file order.

    Raises :class:`~escalade.exceptions.TargetFileError` naming the file (and line) when it is
    missing, unreadable, not a ``.py`` file, not valid Python, or has nothing public to test.
    """
    where = str(path)
    if path.suffix != ".py":
        raise TargetFileError("not a Python file (.py)", path=where)
    if not path.stem.isidentifier() or keyword.iskeyword(path.stem):
        raise TargetFileError(f"{path.stem!r} is not a name tests could import", path=where)
    if path.stem in _RESERVED:
        raise TargetFileError(
            f"a module named {path.stem!r} would shadow the standard library or pytest in the tests: rename it",
            path=where,
        )
    try:
        source = path.read_text(encoding="utf-8-sig")  # a byte-order mark is valid UTF-8 Python
    except FileNotFoundError:
        raise TargetFileError("no such file", path=where) from None
    except UnicodeDecodeError:
        raise TargetFileError("not UTF-8 text", path=where) from None
    except OSError as exc:
        raise TargetFileError(f"cannot read it: {exc.strerror}", path=where) from None
    try:
        tree = ast.parse(source, filename=where)
    except SyntaxError as exc:
        raise TargetFileError(f"not valid Python: {exc.msg}", path=where, line=exc.lineno) from None
    targets = tuple(_target(node, source) for node in tree.body if _public_definition(node))
    if not targets:
        raise TargetFileError("no public top-level function or class to write tests for", path=where)
    return TargetModule(path=path.resolve(), module=path.stem, source=source, targets=targets)


def _public_definition(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and not node.name.startswith("_")


def _target(node: ast.stmt, source: str) -> TestTarget:
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    last = node.end_lineno or node.lineno
    text = "".join(physical_lines(source)[first - 1 : last])
    return TestTarget(
        name=node.name,
        kind="class" if isinstance(node, ast.ClassDef) else "function",
        lineno=first,
        end_lineno=last,
        source=text,
    )
