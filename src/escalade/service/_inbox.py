"""The process's escalation engine and inbox, on the store's tables, with the configured webhooks."""

from __future__ import annotations

from escalade.autonomy import EscalationEngine
from escalade.inbox import Inbox, PreferenceModel, WebhookSender
from escalade.service._state import ServiceState

__all__ = ["engine_of", "inbox_of", "webhooks_of"]


def engine_of(state: ServiceState) -> EscalationEngine:
    """The process's engine on the store's tables (the audit trail sealed with ``ESCALADE_AUDIT_KEY``),
    approving on people's learned preferences when a request names the person."""
    found = state.parts.get("decisions")
    if not isinstance(found, EscalationEngine):
        preferences = PreferenceModel(state.store.inbox)
        found = state.parts["decisions"] = EscalationEngine(state.store.autonomy(), preferences=preferences)
    return found


def webhooks_of(state: ServiceState) -> WebhookSender | None:
    """The process's webhook sender (``None``: no webhooks configured)."""
    found = state.parts.get("webhooks")
    return found if isinstance(found, WebhookSender) else None


def inbox_of(state: ServiceState) -> Inbox:
    """The inbox on the store, recording answers with the engine and telling the webhooks."""
    return Inbox(state.store.inbox, engine_of(state), notify=webhooks_of(state))
