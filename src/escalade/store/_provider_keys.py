"""Provider keys as stored: ciphertext only (:class:`~escalade.store.KeyVault` encrypts and decrypts)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select

from escalade.store._engine import Database
from escalade.store._models import ProviderKeyRow

__all__ = ["ProviderKeyRepository"]


class ProviderKeyRepository:
    """Each workspace's encrypted provider keys in the store's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def put_provider_key(self, workspace: str, provider: str, ciphertext: str) -> None:
        """Insert or replace a workspace's encrypted key for ``provider``."""
        with self.db.session() as s:
            row = s.get(ProviderKeyRow, (workspace, provider))
            if row is None:
                s.add(
                    ProviderKeyRow(
                        workspace=workspace, provider=provider, ciphertext=ciphertext, updated_at=datetime.now(UTC)
                    )
                )
            else:
                row.ciphertext, row.updated_at = ciphertext, datetime.now(UTC)

    def provider_key(self, workspace: str, provider: str) -> str | None:
        """The encrypted key, or ``None``."""
        with self.db.session() as s:
            row = s.get(ProviderKeyRow, (workspace, provider))
            return row.ciphertext if row is not None else None

    def delete_provider_key(self, workspace: str, provider: str) -> bool:
        """Remove a key; whether there was one."""
        with self.db.session() as s:
            deleted = s.execute(
                delete(ProviderKeyRow).where(ProviderKeyRow.workspace == workspace, ProviderKeyRow.provider == provider)
            )
            return bool(deleted.rowcount)  # type: ignore[attr-defined]

    def provider_key_ciphertexts(self) -> list[tuple[str, str, str]]:
        """Every stored key as ``(workspace, provider, ciphertext)``, so a master key can be checked against all."""
        with self.db.session() as s:
            query = select(ProviderKeyRow.workspace, ProviderKeyRow.provider, ProviderKeyRow.ciphertext)
            return [
                (w, p, c) for w, p, c in s.execute(query.order_by(ProviderKeyRow.workspace, ProviderKeyRow.provider))
            ]

    def provider_key_names(self, workspace: str) -> list[str]:
        """Providers with a stored key in ``workspace`` (never the keys)."""
        with self.db.session() as s:
            query = select(ProviderKeyRow.provider).where(ProviderKeyRow.workspace == workspace)
            return sorted(s.scalars(query))
