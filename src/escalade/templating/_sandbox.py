"""Untrusted Jinja2 templates: checked when loaded, rendered in a narrowed sandbox (see :mod:`escalade.templating`)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from jinja2 import TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from escalade.exceptions import InboxError

__all__ = ["FORMATS", "MAX_OUTPUT_CHARS", "MAX_TEMPLATE_BYTES", "Format", "check_template", "read_template", "render"]

Format = Literal["text", "markdown", "html"]
FORMATS: tuple[Format, ...] = ("text", "markdown", "html")
MAX_TEMPLATE_BYTES = 64 * 1024
MAX_OUTPUT_CHARS = 200_000
MAX_RANGE = 1000
MAX_LOOP_DEPTH = 2


class _Missing(Undefined):
    """A field the item does not have: rendered as ``(not given)``, iterated as nothing, never an error."""

    __slots__ = ()

    def __str__(self) -> str:
        return "(not given)"

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __bool__(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    __getitem__ = __getattr__  # an unknown key is missing too


class _Bounded:
    """``range`` with a budget of numbers for one render."""

    def __init__(self) -> None:
        self.left = MAX_RANGE

    def __call__(self, *args: int) -> range:
        numbers = range(*args)
        if len(numbers) > self.left:
            raise SecurityError(f"range() may give at most {MAX_RANGE} numbers in one render")
        self.left -= len(numbers)
        return numbers


#: Methods a template may call on the data (strings and mappings): none that grows its input.
_SAFE_METHODS = {
    str: frozenset({"upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith", "endswith"}),
    dict: frozenset({"get", "items", "keys", "values"}),
}
#: Jinja's filters a template keeps: none takes a size, a width or a format of its own.
_SAFE_FILTERS = frozenset(
    {"default", "d", "e", "escape", "first", "last", "length", "count", "join", "lower", "upper", "title",
     "capitalize", "trim", "list", "sort", "unique", "reverse", "round", "int", "float", "string", "abs",
     "min", "max", "select", "reject", "selectattr", "rejectattr", "map", "dictsort", "safe"}
)  # fmt: skip
#: Largest number an arithmetic step of a template may give or take.
MAX_NUMBER = 10**12


def _number(value: Any) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        raise SecurityError(f"numbers above {MAX_NUMBER} are not allowed in a template")


def _no_str_method(obj: Any, name: str) -> None:
    """Refuse a string method the template may not call (``format`` above all: Jinja hands it out itself)."""
    if isinstance(obj, str) and hasattr(str, name) and name not in _SAFE_METHODS[str]:
        raise SecurityError(f"access to attribute {name!r} of a str is not allowed")


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, narrowed (see the module docstring): no globals but a bounded ``range``,
    only non-growing methods and filters, no repetition or ``%`` formatting, bounded arithmetic."""

    intercepted_binops = frozenset({"*", "**", "%", "+", "-", "/", "//"})

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """An attribute the sandbox hides (``__class__``...) refuses the template at once."""
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__} is not allowed")

    def getattr(self, obj: Any, attribute: str) -> Any:
        _no_str_method(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, str):
            _no_str_method(obj, argument)
        return super().getitem(obj, argument)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, Undefined) or isinstance(value, Undefined):
            return not attr.startswith("_")  # a missing field's fields are missing too
        if isinstance(obj, type) or not super().is_safe_attribute(obj, attr, value):
            return False
        if callable(value):
            allowed = next((names for kind, names in _SAFE_METHODS.items() if isinstance(obj, kind)), frozenset())
            return attr in allowed
        return True

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        for side in (left, right):
            if not isinstance(side, int | float) or isinstance(side, bool):
                raise SecurityError(f"the operator {operator_name!r} works on numbers only in a template")
            _number(side)
        if operator_name == "**" and abs(right) > 100:
            raise SecurityError("powers above 100 are not allowed in a template")
        result = super().call_binop(context, operator_name, left, right)
        _number(result)
        return result


def _filters(fmt: Format) -> dict[str, Callable[..., Any]]:
    if fmt == "html":
        return {
            "heading": lambda t: Markup("<h3>{}</h3>").format(t),
            "bold": lambda t: Markup("<strong>{}</strong>").format(t),
            "code": lambda t: Markup("<code>{}</code>").format(t),
            "bullets": lambda xs: Markup("<ul>{}</ul>").format(
                Markup("").join(Markup("<li>{}</li>").format(x) for x in _listed(xs))
            ),
        }
    if fmt == "markdown":
        return {
            "heading": lambda t: f"### {t}",
            "bold": lambda t: f"**{t}**",
            "code": lambda t: f"`{t}`",
            "bullets": lambda xs: "\n".join(f"- {x}" for x in _listed(xs)),
        }
    return {
        "heading": lambda t: f"{t}\n{'=' * min(len(str(t)), 80)}",
        "bold": str,
        "code": str,
        "bullets": lambda xs: "\n".join(f"- {x}" for x in _listed(xs)),
    }


def _listed(value: Any) -> list[Any]:
    if isinstance(value, Undefined):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def read_template(path: Path) -> str:
    """A template file's text: a regular file (never a link, a pipe or a device), at most 64 KiB, UTF-8."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise InboxError(f"template {str(path)!r} cannot be read (a link is not followed): {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise InboxError(f"template {str(path)!r} is refused: not a regular file")
        raw = handle.read(MAX_TEMPLATE_BYTES + 1)
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise InboxError(f"template {str(path)!r} is refused: larger than {MAX_TEMPLATE_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InboxError(f"template {str(path)!r} is refused: not UTF-8 text") from None


def _check_shape(tree: nodes.Template, name: str) -> None:
    """Refuse what a template must not do, before it is ever rendered."""
    refused = {
        nodes.Include: "it includes another file",
        nodes.Import: "it imports another file",
        nodes.FromImport: "it imports from another file",
        nodes.Extends: "it extends another file",
        nodes.Macro: "it defines a macro",
        nodes.CallBlock: "it has a call block",
        nodes.Block: "it defines a block",
        nodes.FilterBlock: "it has a filter block",
    }
    for kind, why in refused.items():
        for found in tree.find_all(kind):
            raise InboxError(f"template {name!r} is refused: {why} (line {found.lineno})", field="template")
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise InboxError(f"template {name!r} is refused: a recursive loop (line {loop.lineno})", field="template")
    for named in tree.find_all(nodes.Name):
        if named.name in ("self", "super"):
            raise InboxError(f"template {name!r} is refused: it uses {named.name!r} (line {named.lineno})")

    def depth(node: nodes.Node, level: int) -> None:
        for child in node.iter_child_nodes():
            inner = level + 1 if isinstance(child, nodes.For) else level
            if inner > MAX_LOOP_DEPTH:
                raise InboxError(
                    f"template {name!r} is refused: loops nested more than {MAX_LOOP_DEPTH} deep (line {child.lineno})",
                    field="template",
                )
            depth(child, inner)

    depth(tree, 0)


def _environment(fmt: Format) -> _Sandbox:
    env = _Sandbox(autoescape=fmt == "html", undefined=_Missing, keep_trailing_newline=False)
    env.globals.clear()  # no dict, cycler, joiner, namespace or lipsum: only the bounded range, per render
    env.filters = {k: v for k, v in env.filters.items() if k in _SAFE_FILTERS} | _filters(fmt)
    return env


_ENVIRONMENTS: dict[str, _Sandbox] = {}


def _env(fmt: Format) -> _Sandbox:
    if fmt not in FORMATS:
        raise InboxError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}", field="format")
    if fmt not in _ENVIRONMENTS:
        _ENVIRONMENTS[fmt] = _environment(fmt)
    return _ENVIRONMENTS[fmt]


def check_template(text: str, *, name: str) -> None:
    """Nothing if ``text`` may be used as a template; else an :class:`InboxError` naming it and why."""
    if len(text.encode()) > MAX_TEMPLATE_BYTES:
        raise InboxError(f"template {name!r} is refused: larger than {MAX_TEMPLATE_BYTES} bytes", field="template")
    env = _env("text")
    try:
        tree = env.parse(text)
    except TemplateSyntaxError as exc:
        raise InboxError(f"template {name!r}, line {exc.lineno}: {exc.message}", field="template") from None
    except Exception as exc:  # RecursionError on brackets nested hundreds deep
        raise InboxError(f"template {name!r} is refused: it cannot be parsed ({type(exc).__name__})") from None
    _check_shape(tree, name)
    try:
        env.from_string(text)  # compiled too: Python's own compiler has limits of its own
    except Exception as exc:  # RecursionError, SyntaxError, MemoryError... on hostile nesting
        raise InboxError(f"template {name!r} is refused: it cannot be compiled ({type(exc).__name__})") from None


def render(name: str, text: str, fmt: Format, data: Mapping[str, Any]) -> str:
    """``text`` rendered as ``fmt`` with ``data``, here, in the sandbox (``name`` names it in errors)."""
    env = _env(fmt)
    try:
        template = env.from_string(text, globals={"range": _Bounded()})
        out: list[str] = []
        size = 0
        for chunk in template.generate(**data):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise InboxError(f"template {name!r} wrote more than {MAX_OUTPUT_CHARS} characters")
            out.append(chunk)
    except SecurityError as exc:
        raise InboxError(f"template {name!r} is refused: {exc}", field="template") from None
    except InboxError:
        raise
    except MemoryError:
        raise InboxError(f"template {name!r} ran out of memory") from None
    except Exception as exc:  # a template error, or any error of the data it called: its own fault
        raise InboxError(f"template {name!r} failed: {type(exc).__name__}: {exc}"[:500]) from None
    return "".join(out).strip() + "\n"
