"""The human side of escalation: an inbox of escalated decisions, batched for people, answered, learned from.

- :mod:`~escalade.inbox._items`: an inbox item, its states, who may answer it;
- :mod:`~escalade.inbox._batching`: what to send a person when (seed 004 §4), availability, groups;
- :mod:`~escalade.inbox._responses`: a person's answers, checked, and what they tell the engine;
- :mod:`~escalade.inbox._templates`: how an item reads (seed 004 §7), in a sandbox, as text, Markdown, HTML;
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
from escalade.inbox._items import FINAL_STATES, OPEN_STATES, ROLE_PREFIX, InboxItem, InboxState, check_name, new_item
from escalade.inbox._responses import Action, BatchAnswer, InboxAnswer, check_answer, outcome_of, parse_answer
from escalade.inbox._store import InboxStore, MemoryInboxStore
from escalade.inbox._templates import BUILTIN_TEMPLATES, FORMATS, Format, Templates

__all__ = [
    "ALWAYS",
    "BUILTIN_TEMPLATES",
    "FINAL_STATES",
    "FORMATS",
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
    "InboxItem",
    "InboxState",
    "InboxStore",
    "MemoryInboxStore",
    "Templates",
    "batch_efficiency",
    "check_answer",
    "check_name",
    "group_related",
    "new_item",
    "outcome_of",
    "parse_answer",
]
