"""Health: ready (200) only while the database answers and its schema is current; 503 otherwise; no key needed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def _health_on(client: TestClient, engine: Engine) -> tuple[int, dict[str, Any]]:
    """Health's status and body while the app's store is on ``engine`` (then the real store is back)."""
    state = client.app.state.service  # type: ignore[attr-defined]
    real, state.store = state.store, _StoreOn(engine)
    try:
        response = client.get(HEALTH)
    finally:
        state.store = real
    return response.status_code, response.json()


def _health(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = client.get(HEALTH)
    return response.status_code, response.json()


def test_ready_when_the_database_answers_at_head(client: TestClient) -> None:
    status, body = _health(client)
    assert status == 200
    assert (body["status"], body["database"], body["migrations"]) == ("ok", "ok", "current")
    assert body["revision"] == body["head"] == head_revision()
    assert body["replica"]
    assert body["checked_in_ms"] >= 0


def test_live_checks_nothing_else(client: TestClient) -> None:
    assert client.get(f"{HEALTH}/live").json() == {"status": "ok"}


def test_503_when_the_database_is_unreachable(client: TestClient) -> None:
    """A dead database: 503, with the driver's words and the URL kept out of the body."""
    dead = create_engine("postgresql+psycopg://escalade:hunter2@127.0.0.1:1/gone", connect_args={"connect_timeout": 2})
    status, body = _health_on(client, dead)
    dead.dispose()
    assert status == 503
    assert (body["status"], body["database"]) == ("unavailable", "unreachable")
    assert "hunter2" not in str(body)
    assert "127.0.0.1" not in str(body)


def test_503_when_the_schema_is_behind(client: TestClient) -> None:
    """A database whose schema is at an older revision than the code's head is not ready."""
    engine = store_of(client).engine
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0009_workspace_preferences'"))
    status, body = _health(client)
    assert status == 503
    assert (body["database"], body["migrations"], body["revision"]) == ("ok", "behind", "0009_workspace_preferences")


def test_503_when_the_database_is_empty(client: TestClient) -> None:
    """A database with no schema at all (never migrated): migrations unknown, not ready."""
    status, body = _health_on(client, create_engine("sqlite://"))
    assert status == 503
    assert body["migrations"] == "unknown"
