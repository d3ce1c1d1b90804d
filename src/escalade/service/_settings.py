"""How ``escalade serve`` runs: its database, default upstream, limits and the administrator's key.

Settings come from ``escalade serve``'s options, or, in each process uvicorn starts with
``--workers N``, from the ``ESCALADE_SERVE_*`` environment variables that the command sets
(:meth:`ServiceSettings.to_env` and :meth:`ServiceSettings.from_env` are inverse).

>>> s = ServiceSettings(provider="openai", base_url="http://127.0.0.1:9/v1")
>>> ServiceSettings.from_env(s.to_env()) == s
True
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from escalade.exceptions import ConfigError
from escalade.inbox import Webhook
from escalade.providers import SecretKey

__all__ = ["ADMIN_KEY_ENV", "DEFAULT_MAX_BODY_BYTES", "WEBHOOK_SECRET_ENV", "ServiceSettings"]

#: The environment variable holding the administrator's key (creates workspaces and keys, reads /metrics).
ADMIN_KEY_ENV = "ESCALADE_ADMIN_KEY"
#: The environment variable holding the secret that signs webhook requests.
WEBHOOK_SECRET_ENV = "ESCALADE_WEBHOOK_SECRET"
#: Largest request body accepted by default (1 MiB); ``--max-body-bytes`` changes it.
DEFAULT_MAX_BODY_BYTES = 1 << 20
#: Longest a process may keep what it read of keys and workspace settings (a revoked key's grace).
MAX_CACHE_TTL_S = 60.0
#: Shortest administrator key accepted.
MIN_ADMIN_KEY_CHARS = 16
_ENV_PREFIX = "ESCALADE_SERVE_"
_UPSTREAMS = ("openai", "anthropic", "replay")


def _text(value: object) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """Everything one ``escalade serve`` process needs to know (see the module docstring)."""

    #: SQLAlchemy URL or SQLite path (``None``: ``ESCALADE_DATABASE_URL``, else the default SQLite file).
    database_url: str | None = None
    #: The default upstream: ``openai``, ``anthropic`` or ``replay`` (recorded answers of ``dataset``).
    provider: str = "openai"
    #: The upstream's API at another address (an OpenAI-compatible server, a local fake).
    base_url: str | None = None
    #: With ``provider="replay"``: the recorded dataset answering requests.
    dataset: Path | None = None
    #: The ladder's TOML file (``None``: the built-in ladder with the provider's models).
    config: Path | None = None
    #: Seconds one upstream call may take.
    timeout_s: float = 60.0
    #: ``fail``: a model with no known price is never called; ``allow``: it is, billed $0.
    unknown_prices: Literal["fail", "allow"] = "fail"
    #: Largest request body, in bytes.
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: Folder that ``/v1/escalation/analyze`` may read files from (``None``: inline contents only).
    files_root: Path | None = None
    #: ``auto``: the PostgreSQL job queue on PostgreSQL, in-process on SQLite; or ``inprocess``.
    jobs: Literal["auto", "inprocess"] = "auto"
    #: Whether a workspace with no stored upstream key may use the server's own (``OPENAI_API_KEY``...).
    env_keys: bool = False
    #: Process id prefix recorded as the owner of the workflows it runs.
    replica: str | None = None
    #: Seconds a process's claim on a running workflow holds unless renewed (renewed every third of it):
    #: how soon another replica resumes a workflow whose process died.
    workflow_lease_s: float = 30.0
    #: Starts a workflow gets before it fails visibly (each start after the first: its process died).
    workflow_max_attempts: int = 3
    #: Seconds a process keeps what it read of a key, a workspace's settings and its upstream key
    #: (0: read them on every request); another replica's change applies here within this.
    cache_ttl_s: float = 1.0
    #: Workflows a workspace may have queued or running at once; a submission past it gets 429.
    max_open_workflows: int = 1000
    #: Seconds a call's budget hold lasts before any replica's sweep may reclaim it (a killed process's
    #: reservations come back after this); calls are given up at 90 % of it.
    hold_ttl_s: float = 900.0
    #: Webhooks told of inbox items sent and answered: space-separated ``URL`` (generic JSON) or
    #: ``slack=URL`` entries, signed with ``ESCALADE_WEBHOOK_SECRET`` when it is set.
    webhooks: str | None = field(default=None, repr=False)  # a Slack webhook's URL is its credential
    #: Seconds between two looks for inbox batches due (sent, and told to the webhooks); 0: never.
    inbox_dispatch_s: float = 30.0

    def __post_init__(self) -> None:
        if self.provider not in _UPSTREAMS:
            raise ConfigError(f"must be one of {', '.join(_UPSTREAMS)}, got {self.provider!r}", field="provider")
        if self.provider == "replay" and self.dataset is None:
            raise ConfigError("the replay upstream needs a recorded dataset (--dataset)", field="dataset")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ConfigError(f"must be a number of seconds > 0, got {self.timeout_s}", field="timeout_s")
        if self.unknown_prices not in ("fail", "allow"):
            raise ConfigError(f"must be fail or allow, got {self.unknown_prices!r}", field="unknown_prices")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"must be at least 1024 bytes, got {self.max_body_bytes}", field="max_body_bytes")
        if self.jobs not in ("auto", "inprocess"):
            raise ConfigError(f"must be auto or inprocess, got {self.jobs!r}", field="jobs")
        if not (math.isfinite(self.workflow_lease_s) and self.workflow_lease_s >= 1):
            raise ConfigError(f"must be at least 1 second, got {self.workflow_lease_s}", field="workflow_lease_s")
        if not (math.isfinite(self.hold_ttl_s) and self.hold_ttl_s >= 1):
            raise ConfigError(f"must be at least 1 second, got {self.hold_ttl_s}", field="hold_ttl_s")
        if not (math.isfinite(self.cache_ttl_s) and 0 <= self.cache_ttl_s <= MAX_CACHE_TTL_S):
            raise ConfigError(f"must be 0 to {MAX_CACHE_TTL_S:g} seconds, got {self.cache_ttl_s}", field="cache_ttl_s")
        if self.max_open_workflows < 1:
            raise ConfigError(f"must be at least 1, got {self.max_open_workflows}", field="max_open_workflows")
        if self.workflow_max_attempts < 1:
            raise ConfigError(f"must be at least 1, got {self.workflow_max_attempts}", field="workflow_max_attempts")
        if not (math.isfinite(self.inbox_dispatch_s) and 0 <= self.inbox_dispatch_s <= 86_400):
            raise ConfigError(f"must be 0 to 86400 seconds, got {self.inbox_dispatch_s}", field="inbox_dispatch_s")
        self.webhook_list()

    def webhook_list(self, env: Mapping[str, str] | None = None) -> tuple[Webhook, ...]:
        """The webhooks of :attr:`webhooks`, signed with ``ESCALADE_WEBHOOK_SECRET`` if set (a
        :class:`ConfigError` naming a bad entry)."""
        secret = (os.environ if env is None else env).get(WEBHOOK_SECRET_ENV, "").strip() or None
        hooks = []
        for entry in (self.webhooks or "").split():
            kind, _, url = entry.partition("=") if entry.startswith(("slack=", "json=")) else ("json", "", entry)
            hooks.append(Webhook(url, kind, secret=secret))  # type: ignore[arg-type]  # one of the two kinds
        return tuple(hooks)

    @staticmethod
    def admin_key(env: Mapping[str, str] | None = None) -> SecretKey | None:
        """The administrator's key from ``ESCALADE_ADMIN_KEY`` (``None``: no administrator over HTTP)."""
        value = (os.environ if env is None else env).get(ADMIN_KEY_ENV, "").strip()
        if not value:
            return None
        if len(value) < MIN_ADMIN_KEY_CHARS:
            raise ConfigError(f"must be at least {MIN_ADMIN_KEY_CHARS} characters", field=ADMIN_KEY_ENV)
        return SecretKey(value, source=ADMIN_KEY_ENV)

    def to_env(self) -> dict[str, str]:
        """The settings as ``ESCALADE_SERVE_*`` variables, every field (an unset one as the empty string)."""
        return {_ENV_PREFIX + f.name.upper(): _text(getattr(self, f.name)) for f in fields(self)}

    @staticmethod
    def hand_over(settings: ServiceSettings, env: MutableMapping[str, str]) -> None:
        """Put ``settings`` in ``env`` for worker processes, replacing every ``ESCALADE_SERVE_*`` already there
        (a stale one would otherwise override what the command was given)."""
        for name in [n for n in env if n.startswith(_ENV_PREFIX)]:
            del env[name]
        env.update(settings.to_env())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServiceSettings:
        """Settings from ``ESCALADE_SERVE_*`` variables; a bad value is a :class:`ConfigError` naming it."""
        source = os.environ if env is None else env
        given: dict[str, object] = {}
        for f in fields(cls):
            raw = source.get(_ENV_PREFIX + f.name.upper())
            if not raw:  # unset, or handed over as unset
                continue
            try:
                if f.name in ("timeout_s", "workflow_lease_s", "cache_ttl_s", "inbox_dispatch_s", "hold_ttl_s"):
                    given[f.name] = float(raw)
                elif f.name in ("max_body_bytes", "workflow_max_attempts", "max_open_workflows"):
                    given[f.name] = int(raw)
                elif f.name in ("dataset", "config", "files_root"):
                    given[f.name] = Path(raw)
                elif f.name == "env_keys":
                    given[f.name] = raw == "True"
                else:
                    given[f.name] = raw
            except ValueError:
                raise ConfigError(f"not a number: {raw[:40]!r}", field=_ENV_PREFIX + f.name.upper()) from None
        return cls(**given)  # type: ignore[arg-type]  # each value's type is checked in __post_init__
