"""The documented bodies of ``/v1/decisions`` and ``/v1/outcomes`` (the answers are the CLI's lines).

The request bodies are read by the engine itself (:mod:`escalade.autonomy._answers`), so that the
service refuses what ``escalade decide`` refuses with the same words; these schemas only document
them. A body is one item, or ``{"decisions": [...]}`` / ``{"outcomes": [...]}`` with at most
:data:`MAX_BATCH` items.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from escalade.autonomy import Verdict, input_schemas

__all__ = [
    "MAX_BATCH",
    "DecisionAnswer",
    "DecisionAnswers",
    "ItemError",
    "OutcomeAnswer",
    "OutcomeAnswers",
    "request_body",
]

#: Most items in one batch.
MAX_BATCH = 100


class DecisionAnswer(BaseModel):
    """``escalade decide``'s answer line; with ``details=true`` also the factors, threshold and classification."""

    model_config = ConfigDict(extra="allow")

    id: str | int
    escalate: bool
    confidence: float
    priority: str
    type: str
    reasons: list[str]
    rule_hits: list[str]
    #: An escalated decision's item in the inbox, where a person answers it (``GET .../wait`` waits for that).
    inbox_id: str | None = None
    #: The person on whose learned preference it proceeds (the last reason says on what evidence).
    auto_approved_by: str | None = None


class ItemError(BaseModel):
    """An item of a batch that could not be answered: its id as given, its position (from 1) and why."""

    id: str | int | None
    line: int
    error: str


class DecisionAnswers(BaseModel):
    """A batch's answers, in the order of its decisions."""

    answers: list[DecisionAnswer | ItemError]
    answered: int
    failed: int


class OutcomeAnswer(BaseModel):
    """``escalade outcome``'s answer line: what the outcome taught the thresholds."""

    id: str | int
    verdict: Verdict | None
    #: Would acting autonomously have been an error (``None``: not known yet).
    label: bool | None
    #: The type's new learned threshold offset, when the outcome moved it.
    learned_offset: float | None


class OutcomeAnswers(BaseModel):
    """A batch's answers, in the order of its outcomes."""

    answers: list[OutcomeAnswer | ItemError]
    answered: int
    failed: int


def request_body(item: Literal["decision", "outcome"], batch_key: str) -> dict[str, Any]:
    """``openapi_extra`` documenting a body of one ``item`` or ``{batch_key: [items]}``."""
    one = input_schemas()[item]
    batch = {
        "type": "object",
        "title": f"{item.capitalize()}Batch",
        "properties": {batch_key: {"type": "array", "items": one, "minItems": 1, "maxItems": MAX_BATCH}},
        "required": [batch_key],
        "additionalProperties": False,
    }
    schema = {"anyOf": [one, batch]}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
