"""The one-call pipeline for each request of a workspace: its upstream with its key, its budget and preferences.

An :class:`~escalade.pipeline.Escalade` is built per request, so that the workspace's preferences,
quality policy and budget caps are read from the database each time (a change made on any replica
applies to the next request everywhere). What is costly to build is kept per process: the ladder,
the upstream client of each (workspace, key) pair (a rotated key makes a new one), and each
workspace's cache-aware model order, and the writer that stores each request's run after its answer
(:class:`~escalade.store.WriteBehind`; :meth:`Pipelines.close` writes what is left).

With the replay upstream (:mod:`escalade.service._replay_upstream`) there is no key and no network:
:meth:`Pipelines.for_prompt` answers a recorded prompt from its row, on the dataset's ladder.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

from escalade.budget import WorkspaceBudget
from escalade.exceptions import ConfigError, MissingKeyError
from escalade.ladder import EscalationConfig, load_config
from escalade.pipeline import Escalade, stored_preferences, workspace_resources
from escalade.providers import (
    Completion,
    CompletionRequest,
    CostEstimate,
    Provider,
    ProviderOptions,
    SecretKey,
    provider_factory,
)
from escalade.routing import CacheAwareRouter, WorkspacePreferences
from escalade.service._recent import Recent
from escalade.service._replay_upstream import ReplayUpstream
from escalade.service._settings import ServiceSettings
from escalade.store import MASTER_KEY_ENV, KeyVault, SqlStore, WriteBehind

__all__ = ["Pipelines"]


class _NoUpstream(Provider):
    """The upstream of a pipeline that only routes: it estimates nothing and refuses every call."""

    #: The real upstream's models per tier, for a ladder that names none.
    default_models: dict[str, tuple[str, ...]] = {}  # noqa: RUF012  # replaced per instance, never mutated

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        return CostEstimate(expected_usd=0.0, max_usd=0.0)

    async def complete(self, request: CompletionRequest) -> Completion:
        raise ConfigError("this pipeline only routes; it has no upstream to call", field="generate")


class Pipelines:
    """Builds each request's :class:`Escalade` (see the module docstring)."""

    def __init__(self, store: SqlStore, settings: ServiceSettings) -> None:
        self.store = store
        self.settings = settings
        self.config: EscalationConfig = load_config(settings.config)
        #: The recorded dataset answering requests, with the replay upstream (``None``: a live upstream).
        self.replay: ReplayUpstream | None = None
        if settings.provider == "replay" and settings.dataset is not None:
            self.replay = ReplayUpstream.load(settings.dataset, self.config)
            self.config = self.replay.config
        self.ledger = store.ledger()
        self.options = ProviderOptions(
            base_url=settings.base_url, timeout_s=settings.timeout_s, unknown_costs=settings.unknown_prices
        )
        self._upstreams: dict[tuple[str, str], tuple[Provider, CacheAwareRouter]] = {}
        self._lock = threading.Lock()
        #: Stores each request's run once it is answered, many runs a transaction.
        self.runs = WriteBehind(store.db)
        #: Each workspace's preferences and budget caps, and its upstream key, as read a moment ago.
        self._settings_of: Recent[str, tuple[WorkspacePreferences, WorkspaceBudget]] = Recent(
            ttl_s=settings.cache_ttl_s
        )
        self._keys_of: Recent[str, SecretKey] = Recent(ttl_s=settings.cache_ttl_s)

    def forget(self, workspace: str) -> None:
        """Read ``workspace``'s settings and upstream key from the database on its next request."""
        self._settings_of.forget(workspace)
        self._keys_of.forget(workspace)

    def workspace_settings(self, workspace: str) -> tuple[WorkspacePreferences, WorkspaceBudget]:
        """The workspace's preferences and budget caps (the defaults where it stored none)."""

        def read() -> tuple[WorkspacePreferences, WorkspaceBudget]:
            preferences = stored_preferences(self.store, workspace) or WorkspacePreferences()
            return preferences, self.store.workspace_budget(workspace) or WorkspaceBudget(workspace=workspace)

        return self._settings_of.get(workspace, read)

    def close(self) -> None:
        """Write the runs still waiting, and stop the writer."""
        self.runs.close()

    def upstream(self, workspace: str) -> tuple[Provider, CacheAwareRouter]:
        """The workspace's upstream with its current key, and its cache-aware model order."""
        name = self.settings.provider
        try:
            key = self._keys_of.get(workspace, lambda: self.vault().get(name, workspace=workspace))
        except MissingKeyError:  # no environment variable to offer unless env_keys is on
            if self.settings.env_keys:
                raise
            raise MissingKeyError(name, workspace=workspace, env_var=None) from None
        fingerprint = hashlib.sha256(key.value.encode()).hexdigest()
        with self._lock:
            found = self._upstreams.get((workspace, fingerprint))
        if found is not None:
            return found
        made = workspace_resources(
            self.store,
            name,
            workspace=workspace,
            options=self.options,
            expected_output_tokens=self.config.max_output_tokens // 4,
            ledger=self.ledger,
            key=key,
        )
        with self._lock:
            for stale in [k for k in self._upstreams if k[0] == workspace]:
                del self._upstreams[stale]
            self._upstreams[(workspace, fingerprint)] = (made.provider, made.router)
        return made.provider, made.router

    def vault(self) -> KeyVault:
        """The workspaces' stored upstream keys; the server's own environment (``OPENAI_API_KEY``...) counts
        only with ``env_keys`` on, so that a workspace without a key never spends on the operator's."""
        environ = os.environ if self.settings.env_keys else {MASTER_KEY_ENV: os.environ.get(MASTER_KEY_ENV, "")}
        return KeyVault(self.store, environ=environ)

    def _pipeline(self, workspace: str, provider: Provider, *, behind: bool = True, **given: Any) -> Escalade:
        """An :class:`Escalade` of ``workspace`` on ``provider``: the shared ledger, the workspace's settings
        as read a moment ago; its runs written behind the answer (``behind``) or as they happen."""
        preferences, budget = self.workspace_settings(workspace)
        return Escalade(
            self.store,
            workspace,
            self.config,
            provider=provider,
            ledger=self.ledger,
            preferences=preferences,
            workspace_budget=budget,
            write_behind=self.runs if behind else None,
            hold_ttl_s=self.settings.hold_ttl_s,
            **given,
        )

    def routing(self, workspace: str) -> Escalade:
        """A pipeline that only routes (its router, ladder and the workspace's preferences): no upstream,
        so no key is needed, and any call it tried would be refused."""
        none = _NoUpstream()
        if self.replay is None:  # the ladder names the models the upstream would be asked, as when it generates
            none.default_models = dict(provider_factory(self.settings.provider).default_models)
        return self._pipeline(workspace, none, behind=False)

    def escalade(self, workspace: str, *, behind: bool = True) -> Escalade:
        """A pipeline for one request of ``workspace``, on its upstream, ledger, budget and preferences;
        ``behind=False`` stores its runs as they happen (a background workflow: nobody waits for them,
        and its statistics are then read back at once)."""
        provider, router = self.upstream(workspace)
        return self._pipeline(workspace, provider, behind=behind, cache_router=router)

    def for_prompt(self, workspace: str, prompt: str) -> tuple[Escalade, str | None]:
        """The pipeline for a request whose last user turn is ``prompt``, and the request id it must run under.

        On a live upstream: :meth:`escalade` and no id. On the replay upstream: a pipeline answering
        from the row recorded for ``prompt``, under the row's key (a :class:`ConfigError` naming
        ``messages`` when no row has that prompt).
        """
        if self.replay is None:
            return self.escalade(workspace), None
        row = self.replay.row_for(prompt)
        ai = self._pipeline(workspace, self.replay.provider(row), task_kind=self.replay.task_kind)
        return ai, row.key
