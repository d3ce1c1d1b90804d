"""Fixtures of the chat endpoint's tests: a fake upstream, an app on it, workspaces holding an upstream key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from escalade.store import MASTER_KEY_ENV, KeyVault
from tests.service.conftest import MakeClient, store_of, workspace_key
from tests.service.upstream import Reply, Upstream, Wire, upstream, write_ladder

#: The upstream key every test workspace stores.
UPSTREAM_KEY = "sk-upstream-abcdefghijklmnop"

#: ``(wire, script) -> (client, upstream)``: an app whose default upstream is a fresh fake.
ChatApp = Callable[..., tuple[TestClient, Upstream]]


@pytest.fixture
def vault_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A master key for stored upstream keys, and no upstream key in the environment."""
    monkeypatch.setenv(MASTER_KEY_ENV, Fernet.generate_key().decode())
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def chat_app(make_client: MakeClient, tmp_path: Path, vault_env: None) -> Iterator[ChatApp]:
    """Starts a fake upstream and an app on it, with the test ladder (``tests.service.upstream``)."""
    with ExitStack() as stack:

        def make(wire: Wire = "openai", script: dict[str, list[Reply]] | None = None) -> tuple[TestClient, Upstream]:
            up = stack.enter_context(upstream(wire, script))
            client = make_client(provider=wire, base_url=up.url, config=write_ladder(tmp_path, wire))
            return client, up

        yield make


def keyed_workspace(client: TestClient, workspace: str, provider: str = "openai") -> dict[str, str]:
    """Headers with a new key of ``workspace``, which stores an upstream key for ``provider``."""
    KeyVault(store_of(client)).set(provider, UPSTREAM_KEY, workspace=workspace)
    return workspace_key(client, workspace)
