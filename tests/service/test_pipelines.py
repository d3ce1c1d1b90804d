"""Each request's pipeline: the workspace's own upstream key, never the operator's unless allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from escalade.budget import WorkspaceBudget
from escalade.exceptions import MissingKeyError
from escalade.service import ServiceSettings
from escalade.service._pipelines import Pipelines
from escalade.store import MASTER_KEY_ENV, KeyVault, SqlStore


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    return SqlStore(f"sqlite:///{tmp_path / 'p.db'}")


def test_a_workspace_without_a_key_never_spends_on_the_servers(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-operator-0123456789")
    pipelines = Pipelines(store, ServiceSettings(provider="openai", base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(MissingKeyError) as info:
        pipelines.upstream("bob")
    assert "OPENAI_API_KEY" not in str(info.value)  # the message does not offer the operator's variable


def test_the_servers_key_counts_only_when_allowed(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-operator-0123456789")
    settings = ServiceSettings(provider="openai", base_url="http://127.0.0.1:9/v1", env_keys=True)
    assert Pipelines(store, settings).vault().get("openai", workspace="bob").source == "OPENAI_API_KEY"


def test_a_stored_key_is_used_and_a_rotated_one_makes_a_new_client(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, Fernet.generate_key().decode())
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = ServiceSettings(provider="openai", base_url="http://127.0.0.1:9/v1", cache_ttl_s=0)
    pipelines = Pipelines(store, settings)
    KeyVault(store).set("openai", "sk-first-0123456789", workspace="acme")
    first, _ = pipelines.upstream("acme")
    assert pipelines.upstream("acme")[0] is first
    KeyVault(store).set("openai", "sk-second-0123456789", workspace="acme")
    assert pipelines.upstream("acme")[0] is not first


def test_what_another_process_changes_applies_after_the_cache_ttl_or_at_once_when_forgotten(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys, caps and preferences are read once per ``cache_ttl_s``; ``forget`` (the admin API's) rereads them."""
    monkeypatch.setenv(MASTER_KEY_ENV, Fernet.generate_key().decode())
    pipelines = Pipelines(store, ServiceSettings(provider="openai", base_url="http://127.0.0.1:9/v1", cache_ttl_s=60))
    KeyVault(store).set("openai", "sk-first-0123456789", workspace="acme")
    first, _ = pipelines.upstream("acme")
    assert pipelines.workspace_settings("acme")[1].monthly_limit_usd is None
    KeyVault(store).set("openai", "sk-second-0123456789", workspace="acme")  # as another replica would
    store.put_workspace_budget(WorkspaceBudget(workspace="acme", monthly_limit_usd=5.0))
    assert pipelines.upstream("acme")[0] is first
    assert pipelines.workspace_settings("acme")[1].monthly_limit_usd is None
    pipelines.forget("acme")
    assert pipelines.upstream("acme")[0] is not first
    assert pipelines.workspace_settings("acme")[1].monthly_limit_usd == 5.0
    pipelines.close()


def test_every_pipeline_reserves_for_the_servers_hold_ttl(store: SqlStore) -> None:
    """``--hold-ttl``: the lifetime of each call's budget hold, in every pipeline the server builds."""
    settings = ServiceSettings(provider="openai", base_url="http://127.0.0.1:9/v1", hold_ttl_s=30.0)
    for pipelines, expected in ((Pipelines(store, settings), 30.0), (Pipelines(store, ServiceSettings()), 900.0)):
        assert pipelines.routing("acme").executor.hold_ttl_s == expected
        pipelines.close()
