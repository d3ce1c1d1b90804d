"""The web inbox's pages: Jinja2 templates shipped with the package, escaped, sent with strict headers.

Every page goes through :func:`page`, which renders with autoescape on and adds the headers that keep
a page of decisions private and inert: ``Cache-Control: no-store``, a Content-Security-Policy that
allows no script, no frame and forms to this server only, ``X-Content-Type-Options: nosniff``.

An item's body comes from the inbox's built-in templates (:class:`~escalade.inbox.Templates`) as
HTML. Their sandbox renders HTML with autoescape on and markup filters that escape what they wrap,
so the text is escaped already and is marked safe here; a user's template (which may use ``safe``)
is never rendered on these pages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse, RedirectResponse

from escalade.inbox import BatchPolicy, InboxItem, Templates, group_related

__all__ = ["HEADERS", "groups_of", "page", "redirect", "view_of"]

#: Sent with every page and redirect of the web inbox.
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("escalade.service.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _templates() -> Templates:
    return Templates()  # the built-ins only (see the module docstring)


def page(name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """The page ``name`` rendered with ``context``, with :data:`HEADERS`."""
    html = _environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def redirect(path: str) -> RedirectResponse:
    """303 to ``path`` of this server (a GET after a POST), with :data:`HEADERS`."""
    return RedirectResponse(path, status_code=303, headers=HEADERS)


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _compact(html: str) -> str:
    """The template's HTML with one line per section (shown with ``white-space: pre-line``): blank lines and
    the line breaks beside headings and lists dropped (only whitespace is removed, nothing is added)."""
    html = re.sub(r"\n{2,}", "\n", html.strip())
    return re.sub(r"\s*(</h3>|<ul>|</ul>)\s*", r"\1", html)


def view_of(item: InboxItem, *, person: str, roles: Sequence[str]) -> dict[str, Any]:
    """What the page shows of ``item``: its template's HTML, the facts beside it, whether ``person`` may answer."""
    return {
        "item": item,
        "body": Markup(_compact(_templates().render(item, "html"))),  # escaped by the sandbox: see the docstring
        "created": _when(item.created_at),
        "expires": _when(item.expires_at),
        "not_before": _when(item.not_before),
        "answered": _when(item.answered_at),
        "confidence": f"{item.confidence:.0%}",
        "mine": item.is_open and item.may_answer(person, roles),
    }


def groups_of(items: Sequence[InboxItem], *, person: str, roles: Sequence[str]) -> list[dict[str, Any]]:
    """``items`` (most urgent first) in groups of related ones, each with its summary line and its items' views."""
    return [
        {
            "summary": group.summary,
            "relation": group.relation,
            "items": [view_of(i, person=person, roles=roles) for i in group.items],
        }
        for group in group_related(items, window_s=BatchPolicy().group_window_s)
    ]
