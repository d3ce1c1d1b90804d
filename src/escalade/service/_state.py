"""What one service process holds while it runs: settings, the store, the administrator's key, metrics.

Nothing here must be shared between replicas: workflows, budgets, keys and history live in the
database; these are per-process handles to it (and counters that each process reports on its own).
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from escalade.providers import SecretKey
from escalade.service._metrics import ServiceMetrics
from escalade.service._pipelines import Pipelines
from escalade.service._recent import Recent
from escalade.service._settings import ServiceSettings
from escalade.store import ApiKey, SqlStore

__all__ = ["ServiceState", "replica_name", "state_of"]


def replica_name(prefix: str | None = None) -> str:
    """This process's name as the owner of what it runs: ``host:pid:random`` (after ``prefix``, if given)."""
    base = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    return f"{prefix[:60]}:{base}" if prefix else base


@dataclass(kw_only=True)
class ServiceState:
    """The process's handles (see the module docstring); ``parts`` keeps each feature's own."""

    settings: ServiceSettings
    store: SqlStore
    admin_key: SecretKey | None
    metrics: ServiceMetrics
    replica: str
    #: Builds each request's one-call pipeline on its workspace's upstream, budget and preferences.
    pipelines: Pipelines
    #: Active keys by the SHA-256 of their text, as read a moment ago (``settings.cache_ttl_s``).
    keys: Recent[str, ApiKey | None]
    #: Each feature's process-wide objects by name (the workflow runner, the chat pipelines...).
    parts: dict[str, Any] = field(default_factory=dict)


def state_of(request: Request) -> ServiceState:
    """The state of the app serving ``request``."""
    found: ServiceState = request.app.state.service
    return found
