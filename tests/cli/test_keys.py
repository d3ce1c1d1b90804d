"""``escalade keys``: keys go in through stdin or a hidden prompt and never come out."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from escalade.cli import app

SECRET = "sk-cli-0123456789abcdef"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ESCALADE_MASTER_KEY", Fernet.generate_key().decode())
    return CliRunner()


def test_set_list_delete(runner: CliRunner, db_url: str) -> None:
    """A piped key is stored; list shows names only; delete removes it; no output ever shows the key."""
    stored = runner.invoke(app, ["keys", "set", "openai", "--db", db_url, "--workspace", "acme"], input=SECRET + "\n")
    assert stored.exit_code == 0, stored.stderr
    listed = runner.invoke(app, ["keys", "list", "--db", db_url, "--workspace", "acme", "--json"])
    assert json.loads(listed.stdout) == {"workspace": "acme", "providers": ["openai"]}
    removed = runner.invoke(app, ["keys", "delete", "openai", "--db", db_url, "--workspace", "acme"])
    assert removed.exit_code == 0
    for result in (stored, listed, removed):
        assert SECRET not in result.stdout + result.stderr
    assert "no keys stored" in runner.invoke(app, ["keys", "list", "--db", db_url]).stdout


@pytest.mark.parametrize(
    ("args", "stdin", "pattern"),
    [
        (["keys", "set", "openai"], "\n", "no key given for 'openai'"),
        (["keys", "set", "Open AI"], SECRET + "\n", "provider name 'Open AI' is not valid"),
        (["keys", "delete", "openai"], "", "no key stored for 'openai'"),
    ],
)
def test_key_errors(runner: CliRunner, db_url: str, args: list[str], stdin: str, pattern: str) -> None:
    """Empty keys, bad provider names and deleting nothing are one error line."""
    result = runner.invoke(app, [*args, "--db", db_url], input=stdin)
    assert result.exit_code == 2
    assert pattern in result.stderr


def test_set_without_master_key(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ESCALADE_MASTER_KEY, storing a key fails and says how to make one."""
    monkeypatch.delenv("ESCALADE_MASTER_KEY", raising=False)
    result = CliRunner().invoke(app, ["keys", "set", "openai", "--db", db_url], input=SECRET + "\n")
    assert result.exit_code == 2
    assert "Fernet.generate_key" in result.stderr
    assert SECRET not in result.stderr


def test_second_master_key_is_refused(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Storing a key under another master key than the stored keys' is refused, naming them; nothing changes."""
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    runner = CliRunner()
    monkeypatch.setenv("ESCALADE_MASTER_KEY", first)
    assert runner.invoke(app, ["keys", "set", "openai", "--db", db_url], input=SECRET + "\n").exit_code == 0
    monkeypatch.setenv("ESCALADE_MASTER_KEY", second)
    refused = runner.invoke(app, ["keys", "set", "anthropic", "--db", db_url], input=SECRET + "\n")
    assert refused.exit_code == 2
    assert "not the master key the stored keys were encrypted with" in refused.stderr
    assert "openai (workspace default)" in refused.stderr
    assert SECRET not in refused.stdout + refused.stderr
    listed = runner.invoke(app, ["keys", "list", "--db", db_url, "--json"])
    assert json.loads(listed.stdout)["providers"] == ["openai"]
    # replacing the only key it cannot read is a rotation, not a loss: allowed
    assert runner.invoke(app, ["keys", "set", "openai", "--db", db_url], input=SECRET + "\n").exit_code == 0
    assert runner.invoke(app, ["keys", "set", "anthropic", "--db", db_url], input=SECRET + "\n").exit_code == 0
