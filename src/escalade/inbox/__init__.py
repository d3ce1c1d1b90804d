"""The human side of escalation: an inbox of escalated decisions, batched for people, answered, learned from.

- :mod:`~escalade.inbox._items`: an inbox item, its states, who may answer it;
- :mod:`~escalade.inbox._batching`: what to send a person when (seed 004 §4), availability, groups;
- :mod:`~escalade.inbox._responses`: a person's answers, checked, and what they tell the engine;
- :mod:`~escalade.inbox._preferences`: per person, which decisions they approve, and a certified bound
  (:mod:`~escalade.inbox._preference_keys`: what makes decisions similar);
- :mod:`~escalade.inbox._templates`: how an item reads (seed 004 §7), in a sandbox, as text, Markdown, HTML;
- :mod:`~escalade.inbox._langgraph`: LangGraph's Agent Inbox shapes (``HumanInterrupt``, ``HumanResponse``);
- :mod:`~escalade.inbox._webhooks`: webhooks (JSON, Slack) when items are sent or answered;
- :mod:`~escalade.inbox._stats`: its metrics (seed 004 §10): response times, interruptions, overrides;
- :mod:`~escalade.inbox._store`: where items live (in memory here; in SQL in :mod:`escalade.store`);
- :mod:`~escalade.inbox._inbox`: all of it together: :class:`Inbox`.
"""

from escalade.inbox._batching import (
    ALWAYS,
    Availability,
    BatchManager,
    BatchPolicy,
    DecisionBatch,
    DecisionGroup,
    batch_efficiency,
    group_related,
)
from escalade.inbox._inbox import BatchResult, Inbox
from escalade.inbox._items import (
    FINAL_STATES,
    MAX_NAME,
    OPEN_STATES,
    ROLE_PREFIX,
    InboxItem,
    InboxState,
    check_name,
    check_person,
    new_item,
)
from escalade.inbox._langgraph import from_human_response, to_human_interrupt
from escalade.inbox._preference_keys import FEATURES, PreferenceKey
from escalade.inbox._preferences import DEFAULT_LEVELS, PreferenceModel, PreferencePolicy, PreferencePrediction
from escalade.inbox._responses import Action, BatchAnswer, InboxAnswer, check_answer, outcome_of, parse_answer
from escalade.inbox._stats import InboxStats, PersonStats, inbox_stats, workspace_items
from escalade.inbox._store import InboxStore, MemoryInboxStore
from escalade.inbox._templates import BUILTIN_TEMPLATES, FORMATS, Format, Templates
from escalade.inbox._webhooks import InboxEvent, Webhook, WebhookKind, WebhookSender, sign, webhook_body

__all__ = [
    "ALWAYS",
    "BUILTIN_TEMPLATES",
    "DEFAULT_LEVELS",
    "FEATURES",
    "FINAL_STATES",
    "FORMATS",
    "MAX_NAME",
    "OPEN_STATES",
    "ROLE_PREFIX",
    "Action",
    "Availability",
    "BatchAnswer",
    "BatchManager",
    "BatchPolicy",
    "BatchResult",
    "DecisionBatch",
    "DecisionGroup",
    "Format",
    "Inbox",
    "InboxAnswer",
    "InboxEvent",
    "InboxItem",
    "InboxState",
    "InboxStats",
    "InboxStore",
    "MemoryInboxStore",
    "PersonStats",
    "PreferenceKey",
    "PreferenceModel",
    "PreferencePolicy",
    "PreferencePrediction",
    "Templates",
    "Webhook",
    "WebhookKind",
    "WebhookSender",
    "batch_efficiency",
    "check_answer",
    "check_name",
    "check_person",
    "from_human_response",
    "group_related",
    "inbox_stats",
    "new_item",
    "outcome_of",
    "parse_answer",
    "sign",
    "to_human_interrupt",
    "webhook_body",
    "workspace_items",
]
