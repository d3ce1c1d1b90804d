"""How an inbox item reads (seed 004 §7): built-in templates per kind of decision, and your own files.

A template is Jinja2 source, rendered as plain text, Markdown or HTML from the same source: the
filters ``heading``, ``bold``, ``code`` and ``bullets`` write each format's markup (HTML is
escaped). It sees ``item`` (the :class:`~escalade.inbox.InboxItem`'s fields), and for a batch
``items`` and ``groups`` (each with ``summary``, ``relation`` and its ``decisions``). A field the
item does not have renders as ``(not given)``, never an error.

Built in: ``deployment``, ``architecture``, ``data`` (a data operation), ``security``, ``default``
(every other type) and ``batch`` (a batch's summary). :meth:`Templates.load` adds yours from a
folder of ``<kind>.j2`` files, which replace the built-in of that name.

Your templates are untrusted input: they are checked when added or loaded and rendered in a
limited process of their own (:mod:`escalade.templating` says what is refused and bounded). The
built-ins, which are ours, render in this process through the same sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from escalade.exceptions import InboxError
from escalade.inbox._batching import DecisionBatch
from escalade.inbox._items import InboxItem
from escalade.templating import FORMATS, Format, check_template, read_template, render, render_isolated

__all__ = ["BUILTIN_TEMPLATES", "FORMATS", "Format", "Templates"]


_HEADER = """{{ item.type | title | heading }}

{{ item.description }}

{{ "Priority" | bold }}: {{ item.priority }} · {{ "Recommended" | bold }}: {{ item.recommendation }}"""
_TOUCHES = """{% if item.affected_systems %}{{ "Systems" | bold }}: {{ item.affected_systems | join(", ") | code }}
{% endif %}{% if item.affected_files %}{{ "Files" | bold }}: {{ item.affected_files | join(", ") | code }}
{% endif %}{% if item.affected_systems or item.affected_files %}
{% endif %}"""
_REASONS = """{{ "Why it waits for you" | bold }}

{{ item.reasons | bullets }}"""


def _sections(*parts: str) -> str:
    """A template of ``parts`` with a blank line between them (a paragraph each in Markdown)."""
    return "\n\n".join(parts)


_FACTS = {
    "deployment": '{{ "Environment" | bold }}: {{ item.environment }} · '
    '{{ "Reversible" | bold }}: {{ item.classification.reversible }}',
    "architecture": '{{ "Scope" | bold }}: {{ item.classification.scope }} · '
    '{{ "Breaking change" | bold }}: {{ item.classification.breaking_change }}',
    "data": '{{ "Records" | bold }}: {{ item.classification.record_count }} · '
    '{{ "Deletes data" | bold }}: {{ item.classification.deletion }} · '
    '{{ "Reversible" | bold }}: {{ item.classification.reversible }}',
    "security": '{{ "Security-sensitive" | bold }}: {{ item.classification.security_sensitive }} · '
    '{{ "Compliance" | bold }}: {{ item.classification.affects_compliance }}',
}
_ASK = {
    "deployment": "Approve the deployment, change it, or reject it.",
    "architecture": "This shapes what comes after it: approve the design, change it, or reject it.",
    "data": "Check there is a backup before you approve.",
    "security": "A security change: approve it only if you have checked what it exposes.",
}

#: The built-in templates by kind.
BUILTIN_TEMPLATES: dict[str, str] = {
    **{kind: _sections(_HEADER, _FACTS[kind], _TOUCHES + _REASONS, _ASK[kind]) for kind in _FACTS},
    "default": _sections(_HEADER, _TOUCHES + _REASONS),
    "batch": """{{ (items | length ~ " decisions wait for you") | heading }}
{% for group in groups %}
{{ group.summary | bold }}

{% for one in group.decisions %}{{ ("[" ~ one.priority ~ "] " ~ one.description) | bullets }}
{% endfor %}{% endfor %}""",
}


@dataclass(frozen=True)
class _Source:
    name: str
    text: str
    #: A built-in (rendered here); a user's template is rendered in a limited process of its own.
    trusted: bool = True


class Templates:
    """The templates an inbox renders with: the built-ins, and any loaded from files (see the module docstring)."""

    def __init__(self, extra: Mapping[str, str] | None = None) -> None:
        self._sources: dict[str, _Source] = {k: _Source(f"built-in {k}", v) for k, v in BUILTIN_TEMPLATES.items()}
        for kind, text in (extra or {}).items():
            self.add(kind, text, name=kind)

    def add(self, kind: str, text: str, *, name: str) -> None:
        """Use ``text`` for items of ``kind`` (``batch`` for batches), once checked; ``name`` names it in errors."""
        check_template(text, name=name)
        self._sources[kind] = _Source(name, text, trusted=False)

    @classmethod
    def load(cls, folder: Path) -> Templates:
        """The built-ins, with every ``<kind>.j2`` of ``folder`` in place of the built-in of that kind."""
        made = cls()
        if not folder.is_dir():
            raise InboxError(f"not a folder of templates: {folder}", field="templates")
        for path in sorted(folder.glob("*.j2")):
            made.add(path.stem, read_template(path), name=str(path))
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
        copied = json.loads(json.dumps(data, default=str))  # the template sees a copy, never the item itself
        if source.trusted:
            return render(source.name, source.text, fmt, copied)
        return render_isolated(source.name, source.text, fmt, copied)
