"""schemathesis against the live OpenAPI schema: every operation, no 5xx, every response as documented.

The operations come from the app's own ``/openapi.json``, so a route added later is tested here
without a change. Each case is sent with the key its route needs (found by walking the routes:
:mod:`tests.service.routes`). Nothing here may skip: a schema that cannot be loaded, or an
operation schemathesis cannot generate for, fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi

from escalade.service import ADMIN_KEY_ENV, ServiceSettings, create_app
from escalade.store import SqlStore
from tests.service.conftest import ADMIN_KEY
from tests.service.routes import endpoints

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, dict[str, dict[str, str]]]]:
    """An app on a fresh database (started by schemathesis) and the headers each route's key needs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ADMIN_KEY_ENV, ADMIN_KEY)
        url = f"sqlite:///{tmp_path_factory.mktemp('schema') / 'service.db'}"
        with SqlStore(url) as store:
            app = create_app(ServiceSettings(database_url=url), store=store)
            key = store.api_keys.create("fuzz").key
            headers = {
                "admin": {"Authorization": f"Bearer {ADMIN_KEY}"},
                "workspace": {"Authorization": f"Bearer {key}"},
                "none": {},
            }
            by_route = {f"{e.method} {e.template}": headers[e.auth] for e in endpoints(app)}
            yield app, by_route
            asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def api_schema(live_app: tuple[FastAPI, dict[str, dict[str, str]]]) -> Any:
    app, _ = live_app
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    assert len(list(loaded.get_all_operations())) >= len(endpoints(app)), "the schema lost operations"
    return loaded


#: Every operation of a fresh app, as ``METHOD /template`` (the same walk finds the routes a later feature adds).
OPERATIONS = sorted(f"{e.method} {e.template}" for e in endpoints())


def _has_input(operation: str) -> bool:
    """Whether the operation takes parameters or a body (else no input can be invalid)."""
    method, path = operation.split(" ", 1)
    found = create_app().openapi()["paths"][path][method.lower()]
    return bool(found.get("parameters") or found.get("requestBody"))


CASES = [(op, GenerationMode.POSITIVE) for op in OPERATIONS] + [
    (op, GenerationMode.NEGATIVE) for op in OPERATIONS if _has_input(op)
]


@pytest.mark.parametrize(("operation", "mode"), CASES, ids=str)
def test_every_operation_conforms(
    operation: str, mode: GenerationMode, api_schema: Any, live_app: tuple[FastAPI, dict[str, dict[str, str]]]
) -> None:
    """No 5xx, and status, content type and body as the schema documents them, for valid and invalid input."""
    _, by_route = live_app
    method, path = operation.split(" ", 1)
    headers = by_route[operation]

    @given(case=api_schema[path][method].as_strategy(generation_mode=mode))
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Any) -> None:
        response = case.call(headers={**(case.headers or {}), **headers})
        case.validate_response(response, checks=CHECKS)

    check()


def test_the_schema_documents_every_route(api_schema: Any, live_app: tuple[FastAPI, dict[str, dict[str, str]]]) -> None:
    """Each route the app serves is an operation of its schema (so the test above reaches it)."""
    _, by_route = live_app
    documented = {f"{op.ok().method.upper()} {op.ok().path}" for op in api_schema.get_all_operations()}
    assert set(by_route) <= documented


def test_there_is_something_to_test() -> None:
    """An empty walk would parametrize nothing, and pytest would skip silently: it must fail instead."""
    assert len(OPERATIONS) >= 10
    assert any(mode is GenerationMode.NEGATIVE for _, mode in CASES)


def test_health_documents_its_503() -> None:
    """The 503 of health has the same body as its 200 (the load balancer reads both)."""
    responses = create_app().openapi()["paths"]["/v1/escalation/health"]["get"]["responses"]
    assert responses["503"]["content"] == responses["200"]["content"]


def test_every_keyed_operation_documents_how_the_key_is_sent() -> None:
    """``/docs`` offers Bearer and X-API-Key on every route but health, which needs none."""
    schema = create_app().openapi()
    assert set(schema["components"]["securitySchemes"]) == {"bearerKey", "headerKey"}
    for route, path in schema["paths"].items():
        for operation in path.values():
            keyed: list[dict[str, list[str]]] = [{"bearerKey": []}, {"headerKey": []}]
            expected = [] if route.startswith("/v1/escalation/health") else keyed
            assert operation["security"] == expected, route
