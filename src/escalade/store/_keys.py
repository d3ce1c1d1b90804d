"""Bring your own keys: per-workspace provider API keys, encrypted at rest, never shown.

Keys are encrypted with Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under a master
key taken from the environment (``ESCALADE_MASTER_KEY``; make one with
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``).
The database holds only ciphertext. A key read back is a :class:`SecretKey`, whose ``repr`` and
``str`` never show the value. :func:`redact` removes known keys from any text before it is shown
or logged. Both live with the providers that use them (``escalade.providers._secrets``) and are
re-exported here.

When a workspace has no stored key, the provider's usual environment variable
(``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ...) is used. With neither, :class:`MissingKeyError`
names the provider and how to set a key.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken

from escalade.exceptions import ConfigError, MissingKeyError
from escalade.providers import SecretKey, redact
from escalade.store._sql import SqlStore

__all__ = ["MASTER_KEY_ENV", "PROVIDER_ENV_VARS", "KeyVault", "SecretKey", "redact"]

logger = logging.getLogger(__name__)

MASTER_KEY_ENV = "ESCALADE_MASTER_KEY"

#: The environment variable each provider's own SDK reads.
PROVIDER_ENV_VARS: Mapping[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "google": "GEMINI_API_KEY",
}

_PROVIDER = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")


def _decrypts(cipher: Fernet, ciphertext: str) -> bool:
    try:
        cipher.decrypt(ciphertext.encode())
    except InvalidToken:
        return False
    return True


class KeyVault:
    """Per-workspace provider keys in the store, encrypted with the master key."""

    def __init__(self, store: SqlStore, *, master_key: str | None = None, environ: Mapping[str, str] | None = None):
        self.store = store
        self.environ = os.environ if environ is None else environ
        secret = master_key if master_key is not None else self.environ.get(MASTER_KEY_ENV)
        self._fernet: Fernet | None = None
        if secret:
            try:
                self._fernet = Fernet(secret.encode())
            except (ValueError, TypeError) as exc:
                raise ConfigError(
                    f"{MASTER_KEY_ENV} is not a Fernet key (32 url-safe base64-encoded bytes)", field=MASTER_KEY_ENV
                ) from exc

    def _cipher(self) -> Fernet:
        if self._fernet is None:
            raise ConfigError(
                f"storing or reading provider keys needs {MASTER_KEY_ENV}; create one with: python -c "
                '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"',
                field=MASTER_KEY_ENV,
            )
        return self._fernet

    @staticmethod
    def _check(provider: str, workspace: str) -> None:
        if not _PROVIDER.match(provider):
            raise ConfigError(f"provider name {provider!r} is not valid", field="provider")
        if not workspace or len(workspace) > 100:
            raise ConfigError("workspace must be 1 to 100 characters", field="workspace")

    def set(self, provider: str, key: str, *, workspace: str = "default") -> None:
        """Encrypt and store ``key`` for ``provider``, replacing any earlier one.

        Refused when the master key cannot decrypt the keys already stored (in any workspace): they
        would never be readable again beside the new one. Replacing the one key it cannot read is allowed.
        """
        self._check(provider, workspace)
        if not key.strip():
            raise ConfigError(f"the key for {provider!r} is empty", field="api_key")
        cipher = self._cipher()
        stranded = [
            f"{p} (workspace {w})"
            for w, p, ciphertext in self.store.provider_key_ciphertexts()
            if (w, p) != (workspace, provider) and not _decrypts(cipher, ciphertext)
        ]
        if stranded:
            raise ConfigError(
                f"{MASTER_KEY_ENV} is not the master key the stored keys were encrypted with ({', '.join(stranded)}): "
                "set it to that master key, or delete those keys first (escalade keys delete PROVIDER --workspace W)",
                field=MASTER_KEY_ENV,
            )
        self.store.put_provider_key(workspace, provider, cipher.encrypt(key.encode()).decode())
        logger.info("stored an encrypted key for %s in workspace %r", provider, workspace)

    def get(self, provider: str, *, workspace: str = "default") -> SecretKey:
        """The workspace's key for ``provider``, else the provider's environment variable."""
        self._check(provider, workspace)
        ciphertext = self.store.provider_key(workspace, provider)
        if ciphertext is not None:
            logger.debug("key for %s in workspace %r: the stored one", provider, workspace)
            try:
                return SecretKey(self._cipher().decrypt(ciphertext.encode()).decode())
            except InvalidToken as exc:
                raise ConfigError(
                    f"the stored key for {provider!r} cannot be decrypted: {MASTER_KEY_ENV} is not the key it was "
                    "stored with",
                    field=MASTER_KEY_ENV,
                ) from exc
        env_var = PROVIDER_ENV_VARS.get(provider)
        if env_var and self.environ.get(env_var):
            logger.debug("key for %s in workspace %r: none stored, %s used", provider, workspace, env_var)
            return SecretKey(self.environ[env_var], source=env_var)
        raise MissingKeyError(provider, workspace=workspace, env_var=env_var)

    def delete(self, provider: str, *, workspace: str = "default") -> bool:
        """Remove the stored key; whether there was one."""
        self._check(provider, workspace)
        deleted = self.store.delete_provider_key(workspace, provider)
        logger.info(
            "deleted the key for %s in workspace %r: %s", provider, workspace, "done" if deleted else "none stored"
        )
        return deleted

    def providers(self, *, workspace: str = "default") -> list[str]:
        """Providers with a stored key (names only)."""
        return self.store.provider_key_names(workspace)
