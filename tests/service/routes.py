"""Every route of the app and the key it needs, found by walking ``app.routes`` (so routes added later count too)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from escalade.service import create_app
from escalade.service._auth import require_admin, require_key

#: The routes anyone may call: the load balancer's health checks.
PUBLIC = frozenset({"/v1/escalation/health", "/v1/escalation/health/live"})
#: FastAPI's own pages, not API routes.
DOCS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
#: What a path parameter is replaced with: an id that exists nowhere (auth must refuse before it is looked up).
DUMMY_ID = "0123456789ab"

Auth = Literal["admin", "workspace", "none"]


@dataclass(frozen=True)
class Endpoint:
    """One method of one route, with a path the client can call and the key it needs."""

    method: str
    template: str
    path: str
    auth: Auth

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _calls(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def auth_of(dependant: Dependant) -> Auth:
    """``admin`` or ``workspace`` when one of the route's dependencies asks for that key, else ``none``."""
    calls = set(_calls(dependant))
    if require_admin in calls:
        return "admin"
    return "workspace" if require_key in calls else "none"


def endpoints(app: FastAPI | None = None) -> list[Endpoint]:
    """Every method of every API route of ``app`` (default: a fresh app, not started); the web inbox's pages,
    which are not in the schema, are :func:`pages`."""
    found = []
    for route in iter_route_contexts((app or create_app()).routes):  # through included routers too
        dependant = getattr(route, "dependant", None)
        if route.path in DOCS or route.path is None or not isinstance(dependant, Dependant):
            continue
        if not getattr(route, "include_in_schema", True):
            continue
        path = re.sub(r"\{[^}]+\}", DUMMY_ID, route.path)
        for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append(Endpoint(method, route.path, path, auth_of(dependant)))
    return found


def pages(app: FastAPI | None = None) -> set[str]:
    """``METHOD /path`` of every route left out of the schema (the web inbox's HTML pages)."""
    return {
        f"{method} {route.path}"
        for route in iter_route_contexts((app or create_app()).routes)
        if isinstance(getattr(route, "dependant", None), Dependant) and not getattr(route, "include_in_schema", True)
        for method in sorted((getattr(route, "methods", None) or set()) - {"HEAD", "OPTIONS"})
    }


def other_routes(app: FastAPI | None = None) -> set[str | None]:
    """The paths of the app's routes that are not API routes (FastAPI's pages, a mount...)."""
    return {
        route.path
        for route in iter_route_contexts((app or create_app()).routes)
        if not isinstance(getattr(route, "dependant", None), Dependant)
    }
