"""The administrator sets a workspace's budget, preferences and upstream keys over HTTP."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from escalade.store import MASTER_KEY_ENV, KeyVault
from tests.service.conftest import store_of, workspace_key


def test_budget_round_trip_applies_to_the_store(client: TestClient, admin_headers: dict[str, str]) -> None:
    put = client.put(
        "/v1/admin/workspaces/acme/budget",
        json={"monthly_limit_usd": 50, "per_request_limit_usd": 0.5, "timezone": "Europe/Paris"},
        headers=admin_headers,
    )
    assert put.status_code == 200
    assert put.json() == {
        "workspace": "acme",
        "monthly_limit_usd": 50.0,
        "per_request_limit_usd": 0.5,
        "timezone": "Europe/Paris",
        "spent_this_month_usd": 0.0,
    }
    stored = store_of(client).workspace_budget("acme")
    assert stored is not None
    assert stored.monthly_limit_usd == 50.0
    assert client.get("/v1/admin/workspaces/acme/budget", headers=admin_headers).json() == put.json()
    cleared = client.put("/v1/admin/workspaces/acme/budget", json={}, headers=admin_headers).json()
    assert cleared["monthly_limit_usd"] is None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"monthly_limit_usd": -1}, "monthly_limit_usd"),
        ({"monthly_limit_usd": "lots"}, "monthly_limit_usd"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"cap": 3}, "cap"),
    ],
)
def test_bad_budgets_name_the_field(
    client: TestClient, admin_headers: dict[str, str], body: dict[str, object], param: str
) -> None:
    refused = client.put("/v1/admin/workspaces/acme/budget", json=body, headers=admin_headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == param
    assert store_of(client).workspace_budget("acme") is None


def test_preferences_are_checked_against_the_ladder(client: TestClient, admin_headers: dict[str, str]) -> None:
    url = "/v1/admin/workspaces/acme/preferences"
    assert client.get(url, headers=admin_headers).json()["stored"] is False
    put = client.put(url, json={"max_tier": "capable", "auto_escalation": True}, headers=admin_headers)
    assert put.status_code == 200
    assert put.json()["preferences"]["max_tier"] == "capable"
    assert store_of(client).workspace_preferences("acme").max_tier == "capable"
    unknown = client.put(url, json={"max_tier": "platinum"}, headers=admin_headers)
    assert unknown.status_code == 400
    assert unknown.json()["error"]["param"] == "max_tier"
    extra = client.put(url, json={"colour": "red"}, headers=admin_headers)
    assert extra.status_code == 400
    assert "colour" in extra.json()["error"]["message"]
    assert store_of(client).workspace_preferences("acme").max_tier == "capable"  # nothing stored is lost


def test_provider_keys_are_stored_encrypted_and_never_shown(
    client: TestClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, Fernet.generate_key().decode())
    url = "/v1/admin/workspaces/acme/provider-keys"
    put = client.put(f"{url}/openai", json={"key": "sk-test-upstream-0123456789"}, headers=admin_headers)
    assert put.status_code == 200
    assert put.json() == {"workspace": "acme", "providers": ["openai"]}
    assert "sk-test" not in client.get(url, headers=admin_headers).text
    assert KeyVault(store_of(client)).get("openai", workspace="acme").value == "sk-test-upstream-0123456789"
    assert client.delete(f"{url}/openai", headers=admin_headers).json()["providers"] == []
    missing = client.delete(f"{url}/openai", headers=admin_headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["param"] == "provider"


def test_provider_keys_need_the_master_key(
    client: TestClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    refused = client.put(
        "/v1/admin/workspaces/acme/provider-keys/openai", json={"key": "k" * 20}, headers=admin_headers
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == MASTER_KEY_ENV
    bad_name = client.put("/v1/admin/workspaces/acme/provider-keys/Open%20AI", json={"key": "k"}, headers=admin_headers)
    assert bad_name.status_code == 400
    assert bad_name.json()["error"]["param"] == "provider"


def test_a_workspace_key_cannot_set_anything(client: TestClient) -> None:
    headers = workspace_key(client, "acme")
    for method, path in [
        ("put", "/v1/admin/workspaces/acme/budget"),
        ("put", "/v1/admin/workspaces/acme/preferences"),
        ("put", "/v1/admin/workspaces/acme/provider-keys/openai"),
    ]:
        refused = client.request(method, path, json={}, headers=headers)
        assert refused.status_code == 403, path
