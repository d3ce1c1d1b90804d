"""Health: ready (200) only while the database answers and its schema is current; 503 otherwise; no key needed."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from escalade.store import head_revision
from tests.service.conftest import store_of

HEALTH = "/v1/escalation/health"


@dataclass
class _StoreOn:
    """A stand-in for the store that health reads: only its engine."""

    engine: Engine


def _with_engine(client: TestClient, engine: Engine) -> TestClient:
    client.app.state.service.store = _StoreOn(engine)  # type: ignore[attr-defined]
    return client


def test_ready_when_the_database_answers_at_head(client: TestClient) -> None:
    response = client.get(HEALTH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["migrations"] == "current"
    assert body["revision"] == body["head"] == head_revision()
    assert body["replica"]
    assert body["checked_in_ms"] >= 0


def test_live_checks_nothing_else(client: TestClient) -> None:
    assert client.get(f"{HEALTH}/live").json() == {"status": "ok"}


def test_503_when_the_database_is_unreachable(client: TestClient) -> None:
    """A dead database: 503, with the driver's words and the URL kept out of the body."""
    real = store_of(client)
    dead = create_engine("postgresql+psycopg://escalade:hunter2@127.0.0.1:1/gone", connect_args={"connect_timeout": 2})
    try:
        response = _with_engine(client, dead).get(HEALTH)
    finally:
        client.app.state.service.store = real  # type: ignore[attr-defined]
        dead.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "unreachable"
    assert "hunter2" not in response.text
    assert "127.0.0.1" not in response.text


def test_503_when_the_schema_is_behind(client: TestClient) -> None:
    """A database whose schema is at an older revision than the code's head is not ready."""
    engine = store_of(client).engine
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0009_workspace_preferences'"))
    response = client.get(HEALTH)
    assert response.status_code == 503
    body = response.json()
    assert body["migrations"] == "behind"
    assert body["revision"] == "0009_workspace_preferences"
    assert body["database"] == "ok"


def test_503_when_the_database_is_empty(client: TestClient) -> None:
    """A database with no schema at all (never migrated): migrations unknown, not ready."""
    empty = create_engine("sqlite://")
    real = store_of(client)
    try:
        response = _with_engine(client, empty).get(HEALTH)
    finally:
        client.app.state.service.store = real  # type: ignore[attr-defined]
    assert response.status_code == 503
    assert response.json()["migrations"] == "unknown"
