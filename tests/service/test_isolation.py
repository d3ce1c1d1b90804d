"""Every route but health needs a key: none, a revoked one or the wrong kind is refused before anything else.

The routes are found by walking ``app.routes``, so a route another feature adds later is covered
without a change here; a route that asks for no key at all, and is not a health check, fails.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import ADMIN_KEY, store_of
from tests.service.routes import DOCS, PUBLIC, Endpoint, endpoints, other_routes, pages

GUARDED = [e for e in endpoints() if e.template not in PUBLIC]


def _call(client: TestClient, endpoint: Endpoint, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] | None = {} if endpoint.method in ("POST", "PUT", "PATCH") else None
    response = client.request(endpoint.method, endpoint.path, json=body, headers=headers)
    return response.status_code, response.json()


def test_the_walk_finds_the_routes() -> None:
    """The walker sees the known routes, and the app has no other kind of route than FastAPI's pages."""
    found = {str(e) for e in endpoints()}
    assert {"POST /v1/decisions", "POST /v1/outcomes", "GET /metrics", "POST /v1/admin/workspaces"} <= found
    assert other_routes() <= DOCS


def test_the_only_routes_outside_the_schema_are_the_web_inbox() -> None:
    """Pages left out of the schema (so of the walk above) are the web inbox's, with sessions of their own
    (tested in tests/service/web)."""
    found = pages()
    assert "GET /inbox" in found
    assert all(p.split(" ", 1)[1].startswith("/inbox") for p in found)


@pytest.mark.parametrize("endpoint", GUARDED, ids=str)
def test_every_route_asks_for_a_key(endpoint: Endpoint) -> None:
    """Each route but health depends on require_key or require_admin."""
    assert endpoint.auth != "none", f"{endpoint} asks for no key"


@pytest.mark.parametrize("endpoint", GUARDED, ids=str)
def test_no_key_is_a_401(client: TestClient, endpoint: Endpoint) -> None:
    status, body = _call(client, endpoint, {})
    assert status == 401
    assert body["error"]["type"] == "authentication_error"
    assert body["error"]["code"] == "missing_api_key"


@pytest.mark.parametrize("endpoint", GUARDED, ids=str)
def test_a_revoked_or_unknown_key_is_a_401(client: TestClient, endpoint: Endpoint) -> None:
    keys = store_of(client).api_keys
    made = keys.create("acme")
    keys.revoke(made.id)
    for key in (made.key, "esk_000000000000_" + "x" * 32, "not-a-key"):
        status, body = _call(client, endpoint, {"Authorization": f"Bearer {key}"})
        assert status == 401, key
        assert body["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("endpoint", GUARDED, ids=str)
def test_the_wrong_kind_of_key_is_a_403(client: TestClient, endpoint: Endpoint) -> None:
    """The administrator's key on a workspace route, a workspace's key on an administrator's route."""
    key = ADMIN_KEY if endpoint.auth == "workspace" else store_of(client).api_keys.create("acme").key
    status, body = _call(client, endpoint, {"Authorization": f"Bearer {key}"})
    assert status == 403
    assert body["error"]["type"] == "permission_error"


@pytest.mark.parametrize("endpoint", [e for e in endpoints() if e.template in PUBLIC], ids=str)
def test_health_needs_no_key(client: TestClient, endpoint: Endpoint) -> None:
    status, _ = _call(client, endpoint, {})
    assert status == 200
