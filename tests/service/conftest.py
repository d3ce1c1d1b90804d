"""Fixtures of the service's tests: an app on a fresh database, a client, the administrator's and workspaces' keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from escalade.service import ADMIN_KEY_ENV, ServiceSettings, create_app
from escalade.store import SqlStore

ADMIN_KEY = "admin-key-for-tests-0123456789"

MakeClient = Callable[..., TestClient]


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def make_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeClient]:
    """Builds a started app (its lifespan run) on a fresh SQLite file; ``**settings`` go to ServiceSettings."""
    monkeypatch.setenv(ADMIN_KEY_ENV, ADMIN_KEY)
    clients: list[TestClient] = []

    def make(**settings: object) -> TestClient:
        settings.setdefault("database_url", f"sqlite:///{tmp_path / 'service.db'}")
        client = TestClient(create_app(ServiceSettings(**settings)))  # type: ignore[arg-type]
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()


def store_of(client: TestClient) -> SqlStore:
    """The store the client's app opened."""
    store: SqlStore = client.app.state.service.store  # type: ignore[attr-defined]
    return store


def workspace_key(client: TestClient, workspace: str) -> dict[str, str]:
    """Headers with a new key of ``workspace``."""
    made = store_of(client).api_keys.create(workspace)
    return {"Authorization": f"Bearer {made.key}"}
