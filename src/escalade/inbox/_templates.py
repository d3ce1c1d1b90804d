"""How an inbox item reads (seed 004 §7): built-in templates per kind of decision, and your own files.

A template is Jinja2 source, rendered as plain text, Markdown or HTML from the same source: the
filters ``heading``, ``bold``, ``code`` and ``bullets`` write each format's markup (HTML is
escaped). It sees ``item`` (the :class:`~escalade.inbox.InboxItem`'s fields), and for a batch
``items`` and ``groups`` (each with ``summary``, ``relation`` and its ``decisions``). A field the
item does not have renders as ``(not given)``, never an error.

Built in: ``deployment``, ``architecture``, ``data`` (a data operation), ``security``, ``default``
(every other type) and ``batch`` (a batch's summary). :meth:`Templates.load` adds yours from a
folder of ``<kind>.j2`` files, which replace the built-in of that name.

Your templates are untrusted input, and are held to it:

- rendered only in Jinja2's immutable sandbox: no attribute of Python's internals
  (``__class__``, ``__globals__``...), no changing of data, no code of yours run;
- refused when loaded, with the file and the reason: larger than 64 KiB, a syntax error, an
  ``include``/``import``/``extends`` (no file is ever read from a template), a macro or call block,
  a recursive loop, or loops nested more than two deep;
- bounded when rendered: ``range`` gives at most 1,000 numbers a render, a string or list
  multiplied past 100,000 items is refused, powers are capped, and output past 200 KB stops the
  render. A template that breaks one of these while rendering is an
  :class:`~escalade.exceptions.InboxError` naming it, never a hang or a crash.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jinja2 import TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from escalade.exceptions import InboxError
from escalade.inbox._batching import DecisionBatch
from escalade.inbox._items import InboxItem

__all__ = ["BUILTIN_TEMPLATES", "FORMATS", "Format", "Templates"]

Format = Literal["text", "markdown", "html"]
FORMATS: tuple[Format, ...] = ("text", "markdown", "html")
MAX_TEMPLATE_BYTES = 64 * 1024
MAX_OUTPUT_CHARS = 200_000
MAX_RANGE = 1000
MAX_REPEAT = 100_000
MAX_LOOP_DEPTH = 2

_HEADER = """{{ item.type | title | heading }}
{{ item.description }}

{{ "Priority" | bold }}: {{ item.priority }} · {{ "Recommended" | bold }}: {{ item.recommendation }}"""
_REASONS = """
{{ "Why it waits for you" | bold }}
{{ item.reasons | bullets }}"""
_TOUCHES = """{% if item.affected_systems %}
{{ "Systems" | bold }}: {{ item.affected_systems | join(", ") | code }}{% endif %}{% if item.affected_files %}
{{ "Files" | bold }}: {{ item.affected_files | join(", ") | code }}{% endif %}"""

#: The built-in templates by kind.
BUILTIN_TEMPLATES: dict[str, str] = {
    "deployment": _HEADER
    + """
{{ "Environment" | bold }}: {{ item.environment }} · {{ "Reversible" | bold }}: {{ item.classification.reversible }}"""
    + _TOUCHES
    + _REASONS
    + "\nApprove the deployment, change it, or reject it.",
    "architecture": _HEADER + """
{{ "Scope" | bold }}: {{ item.classification.scope }} · """
    """{{ "Breaking change" | bold }}: {{ item.classification.breaking_change }}"""
    + _TOUCHES
    + _REASONS
    + "\nThis shapes what comes after it: approve the design, change it, or reject it.",
    "data": _HEADER + """
{{ "Records" | bold }}: {{ item.classification.record_count }} · """
    """{{ "Deletes data" | bold }}: {{ item.classification.deletion }} · """
    """{{ "Reversible" | bold }}: {{ item.classification.reversible }}"""
    + _TOUCHES
    + _REASONS
    + "\nCheck there is a backup before you approve.",
    "security": _HEADER + """
{{ "Security-sensitive" | bold }}: {{ item.classification.security_sensitive }} · """
    """{{ "Compliance" | bold }}: {{ item.classification.affects_compliance }}"""
    + _TOUCHES
    + _REASONS
    + "\nA security change: approve it only if you have checked what it exposes.",
    "default": _HEADER + _TOUCHES + _REASONS,
    "batch": """{{ (items | length ~ " decisions wait for you") | heading }}
{% for group in groups %}{{ group.summary | bold }}
{% for one in group.decisions %}{{ ("[" ~ one.priority ~ "] " ~ one.description) | bullets }}
{% endfor %}{% endfor %}""",
}


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


def _sized(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 1


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox with products, powers and output bounded (see the module docstring)."""

    intercepted_binops = frozenset({"*", "**"})

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """An attribute the sandbox hides (``__class__``...) refuses the template at once."""
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__} is not allowed")

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > 100:
                raise SecurityError("powers above 100 are not allowed in a template")
            return operator.pow(left, right)
        if operator_name == "*":
            counts = [v for v in (left, right) if isinstance(v, int) and not isinstance(v, bool)]
            if counts and max(_sized(left), _sized(right)) * max(abs(c) for c in counts) > MAX_REPEAT:
                raise SecurityError(f"a product of more than {MAX_REPEAT} items is not allowed in a template")
            return operator.mul(left, right)
        return super().call_binop(context, operator_name, left, right)


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


def _check_shape(tree: nodes.Template, name: str) -> None:
    """Refuse what a template must not do, before it is ever rendered."""
    refused = {
        nodes.Include: "it includes another file",
        nodes.Import: "it imports another file",
        nodes.FromImport: "it imports from another file",
        nodes.Extends: "it extends another file",
        nodes.Macro: "it defines a macro",
        nodes.CallBlock: "it has a call block",
    }
    for kind, why in refused.items():
        for found in tree.find_all(kind):
            raise InboxError(f"template {name!r} is refused: {why} (line {found.lineno})", field="template")
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise InboxError(f"template {name!r} is refused: a recursive loop (line {loop.lineno})", field="template")

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


@dataclass(frozen=True)
class _Source:
    name: str
    text: str


class Templates:
    """The templates an inbox renders with: the built-ins, and any loaded from files (see the module docstring)."""

    def __init__(self, extra: Mapping[str, str] | None = None) -> None:
        self._sources: dict[str, _Source] = {k: _Source(f"built-in {k}", v) for k, v in BUILTIN_TEMPLATES.items()}
        self._envs = {fmt: self._env(fmt) for fmt in FORMATS}
        for kind, text in (extra or {}).items():
            self.add(kind, text, name=kind)

    @staticmethod
    def _env(fmt: Format) -> _Sandbox:
        env = _Sandbox(autoescape=fmt == "html", undefined=_Missing, keep_trailing_newline=False)
        env.filters.update(_filters(fmt))
        return env

    def add(self, kind: str, text: str, *, name: str) -> None:
        """Use ``text`` for items of ``kind`` (``batch`` for batches), once checked; ``name`` names it in errors."""
        if len(text.encode()) > MAX_TEMPLATE_BYTES:
            raise InboxError(f"template {name!r} is refused: larger than {MAX_TEMPLATE_BYTES} bytes", field="template")
        try:
            tree = self._envs["text"].parse(text)
        except TemplateSyntaxError as exc:
            raise InboxError(f"template {name!r}, line {exc.lineno}: {exc.message}", field="template") from None
        _check_shape(tree, name)
        self._sources[kind] = _Source(name, text)

    @classmethod
    def load(cls, folder: Path) -> Templates:
        """The built-ins, with every ``<kind>.j2`` of ``folder`` in place of the built-in of that kind."""
        made = cls()
        if not folder.is_dir():
            raise InboxError(f"not a folder of templates: {folder}", field="templates")
        for path in sorted(folder.glob("*.j2")):
            if path.stat().st_size > MAX_TEMPLATE_BYTES:
                raise InboxError(f"template {str(path)!r} is refused: larger than {MAX_TEMPLATE_BYTES} bytes")
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InboxError(f"template {str(path)!r} cannot be read: {exc}", field="templates") from None
            made.add(path.stem, text, name=str(path))
        return made

    def kind_of(self, item: InboxItem) -> str:
        """The template an item is rendered with: its type's, else ``default``."""
        return item.type.value if item.type.value in self._sources else "default"

    def render(self, item: InboxItem, fmt: Format = "text") -> str:
        """The item as ``fmt``."""
        return self._render(self.kind_of(item), fmt, {"item": item.to_dict()})

    def render_batch(self, batch: DecisionBatch, fmt: Format = "text") -> str:
        """A batch's summary as ``fmt``."""
        groups = [
            {"summary": g.summary, "relation": g.relation, "decisions": [i.to_dict() for i in g.items]}
            for g in batch.groups
        ]
        return self._render(
            "batch",
            fmt,
            {
                "items": [i.to_dict() for i in batch.items],
                "groups": groups,
                "batch": {"id": batch.id, "reason": batch.reason},
            },
        )

    def _render(self, kind: str, fmt: Format, data: Mapping[str, Any]) -> str:
        if fmt not in FORMATS:
            raise InboxError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}", field="format")
        source = self._sources[kind]
        env = self._envs[fmt]
        try:
            template = env.from_string(source.text, globals={"range": _Bounded()})
            out: list[str] = []
            size = 0
            for chunk in template.generate(**data):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise InboxError(f"template {source.name!r} wrote more than {MAX_OUTPUT_CHARS} characters")
                out.append(chunk)
        except SecurityError as exc:
            raise InboxError(f"template {source.name!r} is refused: {exc}", field="template") from None
        except (TemplateError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
            raise InboxError(f"template {source.name!r} failed: {type(exc).__name__}: {exc}"[:500]) from None
        return "".join(out).strip() + "\n"
