"""The administrator's routes: workspaces and keys, and who may call them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import ADMIN_KEY, MakeClient, store_of, workspace_key


def test_admin_creates_a_workspace_and_a_key_shown_once(client: TestClient, admin_headers: dict[str, str]) -> None:
    made = client.post("/v1/admin/workspaces", json={"name": "acme"}, headers=admin_headers)
    assert made.status_code == 201
    assert made.json() == {"name": "acme", "created": True}
    again = client.post("/v1/admin/workspaces", json={"name": "acme"}, headers=admin_headers)
    assert again.json() == {"name": "acme", "created": False}
    key = client.post("/v1/admin/workspaces/acme/keys", json={"name": "ci"}, headers=admin_headers).json()
    assert key["key"].startswith("esk_" + key["id"] + "_")
    assert key["workspace"] == "acme"
    listed = client.get("/v1/admin/workspaces/acme/keys", headers=admin_headers).json()
    assert [k["id"] for k in listed["keys"]] == [key["id"]]
    assert "key" not in listed["keys"][0]
    assert key["key"] not in str(store_of(client).api_keys.list())  # only a hash is kept
    assert "acme" in client.get("/v1/admin/workspaces", headers=admin_headers).json()["workspaces"]


def test_a_revoked_key_stops_working(client: TestClient, admin_headers: dict[str, str]) -> None:
    key = client.post("/v1/admin/workspaces/acme/keys", headers=admin_headers).json()
    assert store_of(client).api_keys.verify(key["key"]) is not None
    gone = client.delete(f"/v1/admin/keys/{key['id']}", headers=admin_headers)
    assert gone.status_code == 200
    assert gone.json() == {"id": key["id"], "revoked": True}
    assert store_of(client).api_keys.verify(key["key"]) is None
    twice = client.delete(f"/v1/admin/keys/{key['id']}", headers=admin_headers)
    assert twice.status_code == 404
    assert twice.json()["error"]["param"] == "key_id"


def test_a_key_revoked_over_http_is_refused_at_once_though_it_was_just_used(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    """The key's check is kept for --cache-ttl, but a revocation on this replica forgets it at once."""
    key = client.post("/v1/admin/workspaces/acme/keys", headers=admin_headers).json()
    bearer = {"Authorization": f"Bearer {key['key']}"}
    assert client.get("/v1/models", headers=bearer).status_code == 200  # its check is now kept
    assert client.delete(f"/v1/admin/keys/{key['id']}", headers=admin_headers).status_code == 200
    refused = client.get("/v1/models", headers=bearer)
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "authentication_error"


def test_admin_routes_refuse_other_callers(client: TestClient) -> None:
    none = client.post("/v1/admin/workspaces", json={"name": "x"})
    assert none.status_code == 401
    assert none.json()["error"]["code"] == "missing_api_key"
    workspace = client.post("/v1/admin/workspaces", json={"name": "x"}, headers=workspace_key(client, "acme"))
    assert workspace.status_code == 403
    assert workspace.json()["error"]["type"] == "permission_error"
    wrong = client.get("/v1/admin/workspaces", headers={"Authorization": "Bearer " + "z" * 30})
    assert wrong.status_code == 401  # nobody's key: not authenticated
    scheme = client.get("/v1/admin/workspaces", headers={"Authorization": ADMIN_KEY})
    assert scheme.status_code == 401
    assert "Bearer" in scheme.json()["error"]["message"]


def test_without_an_admin_key_set_nobody_is_admin(make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESCALADE_ADMIN_KEY")
    client = make_client()
    refused = client.get("/v1/admin/workspaces", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert refused.status_code == 403
    assert "ESCALADE_ADMIN_KEY" in refused.json()["error"]["message"]


def test_bad_admin_bodies_name_the_field(client: TestClient, admin_headers: dict[str, str]) -> None:
    extra = client.post("/v1/admin/workspaces", json={"name": "a", "color": "red"}, headers=admin_headers)
    assert extra.status_code == 400
    assert extra.json()["error"]["param"] == "color"
    empty = client.post("/v1/admin/workspaces", json={"name": ""}, headers=admin_headers)
    assert empty.status_code == 400
    assert empty.json()["error"]["param"] == "name"
    control = client.post("/v1/admin/workspaces", json={"name": "a\u0001b"}, headers=admin_headers)
    assert control.status_code == 400
    assert control.json()["error"]["param"] == "workspace"
    bad_id = client.delete("/v1/admin/keys/not-hex", headers=admin_headers)
    assert bad_id.status_code == 400
    assert bad_id.json()["error"]["param"] == "key_id"


def test_admin_creates_a_person_token(client: TestClient, admin_headers: dict[str, str]) -> None:
    """A key made with ``person`` and ``roles`` is a per-person token: the listing and the Principal name them."""
    body = {"name": "ana's laptop", "person": "ana", "roles": ["sre"]}
    key = client.post("/v1/admin/workspaces/acme/keys", json=body, headers=admin_headers).json()
    assert (key["person"], key["roles"]) == ("ana", ["sre"])
    listed = client.get("/v1/admin/workspaces/acme/keys", headers=admin_headers).json()["keys"]
    assert (listed[0]["person"], listed[0]["roles"]) == ("ana", ["sre"])
    plain = client.post("/v1/admin/workspaces/acme/keys", headers=admin_headers).json()
    assert (plain["person"], plain["roles"]) == (None, [])


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"person": ""}, "person"),
        ({"person": "a\u0001b"}, "person"),
        ({"person": "ana", "roles": [f"r{n}" for n in range(21)]}, "roles"),
        ({"person": "ana", "roles": ["role:"]}, "roles"),
        ({"roles": ["sre"]}, "roles"),
    ],
)
def test_a_bad_person_token_names_the_field(
    client: TestClient, admin_headers: dict[str, str], body: dict[str, object], param: str
) -> None:
    refused = client.post("/v1/admin/workspaces/acme/keys", json=body, headers=admin_headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == param
    assert store_of(client).api_keys.list(include_revoked=True) == []
