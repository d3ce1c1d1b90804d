"""Provider keys: encrypted at rest on SQLite and PostgreSQL, never shown, redacted, clear errors."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from escalade.exceptions import ConfigError, MissingKeyError
from escalade.store import MASTER_KEY_ENV, KeyVault, ProviderKeyRow, SecretKey, SqlStore, redact

SECRET = "sk-test-0123456789abcdef"


@pytest.fixture
def master() -> str:
    return Fernet.generate_key().decode()


def test_keys_are_encrypted_at_rest_and_read_back(store: SqlStore, master: str) -> None:
    """The database holds ciphertext only; the vault decrypts it; names are listed, keys never."""
    vault = KeyVault(store, master_key=master, environ={})
    vault.set("openai", SECRET, workspace="acme")
    with store.session() as s:
        row = s.scalars(select(ProviderKeyRow)).one()
        assert SECRET not in row.ciphertext
    key = vault.get("openai", workspace="acme")
    assert key.value == SECRET
    assert vault.providers(workspace="acme") == ["openai"]
    vault.set("openai", SECRET + "x", workspace="acme")  # replaces
    assert vault.get("openai", workspace="acme").value == SECRET + "x"
    assert vault.delete("openai", workspace="acme")
    assert not vault.delete("openai", workspace="acme")


def test_wrong_master_key_is_a_clear_error(store: SqlStore, master: str) -> None:
    """Reading with another master key fails naming the variable, without showing anything secret."""
    KeyVault(store, master_key=master, environ={}).set("anthropic", SECRET)
    other = KeyVault(store, master_key=Fernet.generate_key().decode(), environ={})
    with pytest.raises(ConfigError, match="cannot be decrypted") as info:
        other.get("anthropic")
    assert SECRET not in str(info.value)


def test_a_second_master_key_never_strands_stored_keys(store: SqlStore, master: str) -> None:
    """A key set under a master key that cannot read the stored keys (any workspace) is refused, unstored."""
    KeyVault(store, master_key=master, environ={}).set("openai", SECRET, workspace="acme")
    other = KeyVault(store, master_key=Fernet.generate_key().decode(), environ={})
    with pytest.raises(ConfigError, match=r"openai \(workspace acme\)") as info:
        other.set("anthropic", SECRET, workspace="beta")
    assert MASTER_KEY_ENV in str(info.value)
    assert store.provider_key("beta", "anthropic") is None
    KeyVault(store, master_key=master, environ={}).set("anthropic", SECRET, workspace="beta")  # the same key: fine


def test_missing_keys_name_the_provider_and_the_fix(store: SqlStore) -> None:
    """No stored key and no environment variable: the error says how to set one."""
    vault = KeyVault(store, master_key=Fernet.generate_key().decode(), environ={})
    with pytest.raises(MissingKeyError, match="escalade keys set openai, or set OPENAI_API_KEY") as info:
        vault.get("openai", workspace="acme")
    assert info.value.provider == "openai"
    env_only = KeyVault(store, environ={"ANTHROPIC_API_KEY": SECRET})
    assert env_only.get("anthropic").source == "ANTHROPIC_API_KEY"
    with pytest.raises(ConfigError, match=MASTER_KEY_ENV):
        env_only.set("anthropic", SECRET)


def test_secrets_never_print() -> None:
    """repr and str of a key hide it; redact removes keys from messages."""
    key = SecretKey(SECRET)
    assert SECRET not in repr(key)
    assert SECRET not in str(key)
    assert SECRET not in f"{key}"
    message = f"401 from provider: invalid key {SECRET} (check {SECRET[:4]})"
    assert redact(message, [key]) == f"401 from provider: invalid key [REDACTED] (check {SECRET[:4]})"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda v: v.set("Open AI!", SECRET), "provider name"),
        (lambda v: v.set("openai", "   "), "is empty"),
        (lambda v: v.get("openai", workspace=""), "workspace must be"),
    ],
)
def test_bad_key_input(store: SqlStore, master: str, call: object, message: str) -> None:
    """Bad provider names, empty keys and empty workspaces are configuration errors."""
    vault = KeyVault(store, master_key=master, environ={})
    with pytest.raises(ConfigError, match=message):
        call(vault)  # type: ignore[operator]


def test_bad_master_key(store: SqlStore) -> None:
    """A master key that is not a Fernet key is rejected with the variable named."""
    with pytest.raises(ConfigError, match="not a Fernet key"):
        KeyVault(store, master_key="too-short", environ={})
