"""The middleware: request ids, the body-size limit (declared and streamed), and an access log that holds no secret."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import MakeClient, workspace_key

SECRET_PROMPT = "my password is hunter2-SECRET-PROMPT"


def test_a_good_request_id_is_echoed(client: TestClient) -> None:
    """A client's id is in the response header and the error body."""
    response = client.post("/v1/decisions", json={}, headers={"X-Request-ID": "client.id-42_a"})
    assert response.headers["x-request-id"] == "client.id-42_a"
    assert response.json()["request_id"] == "client.id-42_a"


@pytest.mark.parametrize("given", [None, "has spaces", "x" * 65, "semi;colon", ""])
def test_a_missing_or_bad_request_id_is_replaced(client: TestClient, given: str | None) -> None:
    """No id, or one that is not 1-64 of ``A-Za-z0-9._-``, gets a new random one."""
    headers = {} if given is None else {"X-Request-ID": given}
    response = client.get("/v1/escalation/health/live", headers=headers)
    made = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert made != given


def test_ids_differ_between_requests(client: TestClient) -> None:
    ids = {client.get("/v1/escalation/health/live").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


@pytest.fixture
def small(make_client: MakeClient) -> TestClient:
    """A client of an app that accepts bodies of at most 1024 bytes."""
    return make_client(max_body_bytes=1024)


def test_a_declared_length_over_the_limit_is_a_413(small: TestClient) -> None:
    """The Content-Length is refused before the body is read, with the JSON error body."""
    headers = {**workspace_key(small, "acme"), "X-Request-ID": "big-1"}
    response = small.post("/v1/decisions", json={"description": "x" * 2000}, headers=headers)
    assert response.status_code == 413
    body = response.json()
    assert body["error"]["type"] == "request_too_large"
    assert body["error"]["param"] == "body"
    assert body["request_id"] == "big-1"
    assert response.headers["x-request-id"] == "big-1"


def test_a_streamed_body_over_the_limit_is_a_413(small: TestClient) -> None:
    """A chunked body with no Content-Length is cut off once it passes the limit."""

    def chunks() -> Iterator[bytes]:
        yield b'{"description": "'
        for _ in range(10):
            yield b"y" * 200
        yield b'"}'

    headers = {**workspace_key(small, "acme"), "Content-Type": "application/json"}
    response = small.post("/v1/decisions", content=chunks(), headers=headers)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["type"] == "request_too_large"


def test_a_body_within_the_limit_passes(small: TestClient) -> None:
    response = small.post("/v1/decisions", json={"description": "Fix a typo"}, headers=workspace_key(small, "acme"))
    assert response.status_code == 200


def test_a_bad_content_length_is_a_413(small: TestClient) -> None:
    response = small.post("/v1/decisions", content=b"{}", headers={"Content-Length": "lots"})
    assert response.status_code == 413


def test_the_access_log_is_json_without_body_key_or_prompt(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """One JSON line per request, with route template, status and key id; never the body, the key or the prompt."""
    headers = workspace_key(client, "acme")
    key = headers["Authorization"].removeprefix("Bearer ")
    with caplog.at_level(logging.DEBUG):
        client.post("/v1/decisions?agent=bot", json={"id": "s1", "description": SECRET_PROMPT}, headers=headers)
        client.post("/v1/decisions", json={"description": SECRET_PROMPT, "x": 1}, headers=headers)
        client.get("/v1/no/such/route/" + SECRET_PROMPT.replace(" ", "-"), headers=headers)
    served = [r for r in caplog.records if r.name.startswith(("escalade", "uvicorn"))]  # not the test's client
    assert served
    everything = "".join(r.getMessage() + str(r.args) for r in served)
    assert "hunter2" not in everything
    assert key not in everything
    access = [json.loads(r.getMessage()) for r in served if r.name == "escalade.service.access"]
    assert [a["status"] for a in access] == [200, 400, 404]
    first = access[0]
    assert set(first) == {"event", "request_id", "method", "route", "status", "duration_ms", "key_id", "workspace"}
    assert first["route"] == "/v1/decisions"
    assert first["workspace"] == "acme"
    assert first["key_id"] == key.split("_")[1]
    assert access[2]["route"] == "unmatched"
