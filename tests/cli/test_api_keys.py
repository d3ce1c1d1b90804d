"""``escalade api-key create|list|revoke``: a key printed once, listed by id, revoked; errors in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from escalade.store import SqlStore
from tests.cli.helpers import invoke


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'keys.db'}"


def _create(db: str, workspace: str = "acme", *extra: str) -> dict[str, str]:
    code, out, err = invoke("api-key", "create", "--workspace", workspace, "--db", db, "--json", *extra)
    assert code == 0, err
    made: dict[str, str] = json.loads(out)
    return made


def test_create_prints_the_key_once_and_it_works(db: str) -> None:
    code, out, _ = invoke("api-key", "create", "--workspace", "acme", "--name", "ci", "--db", db)
    assert code == 0
    key = out.splitlines()[0]
    assert key.startswith("esk_")
    assert "shown this once" in out
    with SqlStore(db) as store:
        found = store.api_keys.verify(key)
    assert found is not None
    assert (found.workspace, found.name) == ("acme", "ci")
    code, listed, _ = invoke("api-key", "list", "--db", db)
    assert code == 0
    assert found.id in listed
    assert key not in listed


def test_create_json_has_the_key_and_its_id(db: str) -> None:
    made = _create(db, "acme", "--name", "bot")
    assert made["key"].startswith(f"esk_{made['id']}_")
    assert (made["workspace"], made["name"]) == ("acme", "bot")


def test_list_filters_by_workspace_and_shows_revoked_with_all(db: str) -> None:
    a, b = _create(db, "acme"), _create(db, "beta")
    code, out, _ = invoke("api-key", "list", "--workspace", "acme", "--db", db, "--json")
    assert code == 0
    assert [k["id"] for k in json.loads(out)["keys"]] == [a["id"]]
    assert invoke("api-key", "revoke", b["id"], "--db", db)[0] == 0
    _, out, _ = invoke("api-key", "list", "--db", db, "--json")
    assert [k["id"] for k in json.loads(out)["keys"]] == [a["id"]]
    _, out, _ = invoke("api-key", "list", "--all", "--db", db, "--json")
    keys = {k["id"]: k for k in json.loads(out)["keys"]}
    assert keys[b["id"]]["revoked_at"] is not None
    _, text, _ = invoke("api-key", "list", "--all", "--db", db)
    assert "revoked" in text


def test_list_says_when_there_are_none(db: str) -> None:
    code, out, _ = invoke("api-key", "list", "--workspace", "acme", "--db", db)
    assert code == 0
    assert "no API keys in workspace acme" in out


def test_revoke_stops_the_key(db: str) -> None:
    made = _create(db)
    code, out, _ = invoke("api-key", "revoke", made["id"], "--db", db)
    assert code == 0
    assert f"key {made['id']} revoked" in out
    with SqlStore(db) as store:
        assert store.api_keys.verify(made["key"]) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("revoke", "0123456789ab"), "no active API key '0123456789ab'"),
        (("revoke", "not-an-id"), "12 hex digits"),
        (("create", "--workspace", ""), "workspace"),
        (("create", "--workspace", "acme", "--name", "x" * 101), "name"),
        (("create",), "--workspace"),
    ],
)
def test_errors_are_one_line_and_a_non_zero_exit(db: str, args: tuple[str, ...], message: str) -> None:
    code, out, err = invoke("api-key", *args, "--db", db)
    assert code != 0
    assert message in err
    assert "Traceback" not in err + out


def test_revoke_in_another_workspace_is_refused(db: str) -> None:
    made = _create(db, "acme")
    code, _, err = invoke("api-key", "revoke", made["id"], "--workspace", "beta", "--db", db)
    assert code != 0
    assert "in workspace 'beta'" in err
    with SqlStore(db) as store:
        assert store.api_keys.verify(made["key"]) is not None


def test_create_a_person_token(db: str) -> None:
    """``--person`` and ``--role`` make a per-person token, said so when it is printed."""
    code, out, _ = invoke("api-key", "create", "--workspace", "acme", "--person", "ana", "--role", "sre", "--db", db)
    assert code == 0
    assert "for ana (sre)" in out
    with SqlStore(db) as store:
        found = store.api_keys.verify(out.splitlines()[0])
    assert found is not None
    assert (found.person, found.roles) == ("ana", ("sre",))
    made = _create(db, "acme", "--person", "bo", "--role", "dba", "--role", "sre")
    assert made["person"] == "bo"
    assert list(made["roles"]) == ["dba", "sre"]
    _, listed, _ = invoke("api-key", "list", "--db", db)
    assert "person ana" in listed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--person", ""), "person"),
        (("--person", "ana", "--role", "x" * 101), "roles"),
        (("--role", "sre"), "give the person too"),
        (("--person", "ana", *[a for n in range(21) for a in ("--role", f"r{n}")]), "at most 20 roles"),
    ],
)
def test_a_bad_person_token_is_one_line(db: str, args: tuple[str, ...], message: str) -> None:
    code, out, err = invoke("api-key", "create", "--workspace", "acme", *args, "--db", db)
    assert code != 0
    assert message in err
    assert "Traceback" not in err + out
