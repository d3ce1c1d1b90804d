"""API keys on SQLite and PostgreSQL: created, verified, listed and revoked; hashes only; bad keys refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from escalade.exceptions import ConfigError, StoreError
from escalade.store import SqlStore
from escalade.store._models import ApiKeyRow


def test_create_verify_list_revoke(store: SqlStore) -> None:
    keys = store.api_keys
    made = keys.create("acme", name="ci")
    other = keys.create("beta")
    found = keys.verify(made.key)
    assert found is not None
    assert (found.id, found.workspace, found.name) == (made.id, "acme", "ci")
    assert [k.id for k in keys.list("acme")] == [made.id]
    assert {k.id for k in keys.list()} == {made.id, other.id}
    assert keys.revoke(made.id, workspace="beta") is False  # not that workspace's
    assert keys.revoke(made.id) is True
    assert keys.revoke(made.id) is False  # once
    assert keys.verify(made.key) is None
    assert keys.list("acme") == []
    revoked = keys.list("acme", include_revoked=True)
    assert [k.id for k in revoked] == [made.id]
    assert revoked[0].revoked_at is not None
    assert keys.verify(other.key) is not None  # the other workspace's key is untouched


def test_only_a_hash_is_stored(store: SqlStore) -> None:
    made = store.api_keys.create("acme")
    secret = made.key.rsplit("_", 1)[1]
    with store.db.session() as s:
        row = s.scalars(select(ApiKeyRow)).one()
    assert secret not in str(row.secret_hash)
    assert made.key not in repr(store.api_keys.list())
    assert "key" not in store.api_keys.list()[0].to_dict()


def test_a_wrong_secret_is_refused(store: SqlStore) -> None:
    made = store.api_keys.create("acme")
    prefix, _, secret = made.key.rpartition("_")
    wrong = prefix + "_" + ("A" if secret[0] != "A" else "B") + secret[1:]
    assert store.api_keys.verify(wrong) is None


@pytest.mark.parametrize(
    "key",
    ["", "esk_", "esk_0123456789ab_", "esk_XYZ_" + "a" * 43, "sk-" + "a" * 40, "esk_0123456789ab_" + "a" * 44, "\x00"],
)
def test_a_malformed_or_unknown_key_is_refused(store: SqlStore, key: str) -> None:
    store.api_keys.create("acme")
    assert store.api_keys.verify(key) is None


def test_an_unknown_well_formed_key_is_refused(store: SqlStore) -> None:
    assert store.api_keys.verify("esk_0123456789ab_" + "a" * 43) is None


@pytest.mark.parametrize("key_id", ["", "xyz", "0123456789AB", "0123456789abc"])
def test_revoking_a_malformed_id_says_so(store: SqlStore, key_id: str) -> None:
    with pytest.raises(StoreError, match="12 hex digits"):
        store.api_keys.revoke(key_id)


@pytest.mark.parametrize(("workspace", "name"), [("", None), ("a" * 101, None), ("acme", "x" * 101), ("acme", "a\x00")])
def test_a_bad_workspace_or_name_is_refused(store: SqlStore, workspace: str, name: str | None) -> None:
    with pytest.raises(ConfigError):
        store.api_keys.create(workspace, name=name)
    assert store.api_keys.list(include_revoked=True) == []


def test_workspaces_are_created_once(store: SqlStore) -> None:
    assert store.api_keys.create_workspace("acme") is True
    assert store.api_keys.create_workspace("acme") is False
    store.api_keys.create("beta")
    assert store.api_keys.workspace_names() == ["acme", "beta"]
    assert {"acme", "beta"} <= set(store.workspaces())


def test_a_person_token_keeps_its_person_and_roles(store: SqlStore) -> None:
    """A per-person token names its person and roles (``role:`` prefixes dropped, repeats once); get finds it."""
    made = store.api_keys.create("acme", name="laptop", person=" ana ", roles=["sre", "role:dba", "sre"])
    assert (made.person, made.roles) == ("ana", ("sre", "dba"))
    found = store.api_keys.verify(made.key)
    assert found is not None
    assert (found.person, found.roles) == ("ana", ("sre", "dba"))
    assert found.to_dict()["person"] == "ana"
    assert found.to_dict()["roles"] == ["sre", "dba"]
    assert store.api_keys.get(made.id) == found
    plain = store.api_keys.create("acme")
    assert (plain.person, plain.roles) == (None, ())
    assert store.api_keys.list("acme")[1].to_dict()["roles"] == []


def test_get_finds_only_an_active_key(store: SqlStore) -> None:
    made = store.api_keys.create("acme")
    store.api_keys.revoke(made.id)
    assert store.api_keys.get(made.id) is None
    assert store.api_keys.get("0123456789ab") is None
    assert store.api_keys.get("not an id") is None


@pytest.mark.parametrize(
    ("person", "roles", "field"),
    [
        ("", (), "person"),
        ("a" * 101, (), "person"),
        ("an\x07a", (), "person"),
        ("ana", ("",), "roles"),
        ("ana", ("role:",), "roles"),
        ("ana", ("x" * 101,), "roles"),
        ("ana", tuple(f"r{n}" for n in range(21)), "roles"),
        (None, ("sre",), "roles"),
    ],
)
def test_a_bad_person_or_role_is_refused(
    store: SqlStore, person: str | None, roles: tuple[str, ...], field: str
) -> None:
    """Bad names, too many roles, roles without a person: a ConfigError naming the field, and no key made."""
    with pytest.raises(ConfigError) as caught:
        store.api_keys.create("acme", person=person, roles=roles)
    assert caught.value.field == field
    assert store.api_keys.list(include_revoked=True) == []
