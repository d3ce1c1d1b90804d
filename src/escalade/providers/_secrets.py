"""API keys that never show themselves: :class:`SecretKey`, and :func:`redact` for any text.

Providers receive their key as a :class:`SecretKey` (whose ``repr`` and ``str`` never show the
value) and pass every message that could quote it through :func:`redact` before raising it. Where
keys are stored and looked up (the encrypted :class:`~escalade.store._keys.KeyVault`) is a layer above.

>>> key = SecretKey("sk-test-0123456789", source="OPENAI_API_KEY")
>>> key
SecretKey(source='OPENAI_API_KEY', value='***')
>>> redact("401: bad key sk-test-0123456789", [key])
'401: bad key [REDACTED]'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["SecretKey", "redact"]

_MIN_SECRET = 8  # shorter strings are not redacted: they would blank out ordinary words


@dataclass(frozen=True)
class SecretKey:
    """An API key that does not print itself."""

    value: str = field(repr=False)
    #: Where it came from: ``store`` or the environment variable's name.
    source: str = "store"

    def __repr__(self) -> str:
        return f"SecretKey(source={self.source!r}, value='***')"

    __str__ = __repr__


def redact(text: str, secrets: Iterable[str | SecretKey]) -> str:
    """``text`` with every secret replaced by ``[REDACTED]``."""
    for secret in secrets:
        value = secret.value if isinstance(secret, SecretKey) else secret
        if len(value) >= _MIN_SECRET:
            text = text.replace(value, "[REDACTED]")
    return text
