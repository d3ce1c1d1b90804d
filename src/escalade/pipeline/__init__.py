"""One request at a time through the whole pipeline: :class:`Escalade` and seed 002's names for it."""

from escalade.pipeline._escalade import Escalade, stored_preferences
from escalade.pipeline._live import LiveResources, workspace_resources
from escalade.pipeline._request import MAX_REQUEST_FILE_BYTES, PromptOrMessages, as_messages, split_prompt
from escalade.pipeline._result import Attempt, Escalation, GenerateResult
from escalade.pipeline._seed import CognitiveTierService, generate_with_cognitive_tier

__all__ = [
    "MAX_REQUEST_FILE_BYTES",
    "Attempt",
    "CognitiveTierService",
    "Escalade",
    "Escalation",
    "GenerateResult",
    "LiveResources",
    "PromptOrMessages",
    "as_messages",
    "generate_with_cognitive_tier",
    "split_prompt",
    "stored_preferences",
    "workspace_resources",
]
