"""``POST /v1/decisions`` and ``POST /v1/outcomes``: seed 004's escalation engine over HTTP.

The answers are ``escalade decide``'s and ``escalade outcome``'s lines, field for field
(:mod:`escalade.autonomy._answers`). A body is one item or a batch (``{"decisions": [...]}``, at
most :data:`~escalade.service._decision_models.MAX_BATCH`):

- one item that the engine refuses is a 400 naming its field, as the CLI's error line does;
- in a batch, each refused item gets its own ``{"id", "line", "error"}`` entry and the others are
  answered (and stored) all the same;
- a body that is not an object, or a batch that is not a list of 1 to ``MAX_BATCH`` items, or one with
  another field, is a 400 naming the field.

Everything is read and written in the key's workspace. A decision has no workspace field (naming
one is a 400 ``unknown field``); an outcome naming a workspace other than the key's is refused
(400 for one item, its error entry in a batch), never recorded there. Only the built-in profiles
are offered: custom profile and rule files are the server's business, not a caller's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse

from escalade.autonomy import (
    DEFAULT_PROFILE,
    PROFILES,
    Decision,
    DecisionContext,
    EscalationEngine,
    EscalationResult,
    answer_items,
    answer_one,
    decision_answer,
    outcome_answer,
)
from escalade.exceptions import InboxError
from escalade.inbox import Inbox
from escalade.service._auth import Principal, require_key
from escalade.service._decision_models import (
    MAX_BATCH,
    DecisionAnswer,
    DecisionAnswers,
    OutcomeAnswer,
    OutcomeAnswers,
    request_body,
)
from escalade.service._errors import ERROR_RESPONSES, ApiError
from escalade.service._state import ServiceState, state_of

__all__ = ["decision_engine", "router"]

router = APIRouter(prefix="/v1", tags=["decisions"], responses=ERROR_RESPONSES)

Key = Annotated[Principal, Depends(require_key)]
Payload = Annotated[dict[str, Any], Body()]
Profile = Annotated[
    str,
    Query(
        description="A built-in automation profile.",
        json_schema_extra={"enum": list(PROFILES)},
    ),
]
Agent = Annotated[str | None, Query(min_length=1, max_length=200, description="The agent proposing the actions.")]
Details = Annotated[bool, Query(description="Answer with everything: factors, threshold, classification.")]


def decision_engine(state: ServiceState) -> EscalationEngine:
    """The process's engine on the store's tables (the audit trail sealed with ``ESCALADE_AUDIT_KEY``)."""
    found = state.parts.get("decisions")
    if not isinstance(found, EscalationEngine):
        found = state.parts["decisions"] = EscalationEngine(state.store.autonomy())
    return found


def _batch(body: dict[str, Any], key: str) -> list[object] | None:
    """The items of a batch body (``None``: the body is one item); 400 naming the field when malformed."""
    if key not in body:
        return None
    for name in body:
        if name != key:
            raise ApiError(400, f"unknown field {name[:80]!r}", type="invalid_request_error", param=name[:80])
    items = body[key]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise ApiError(400, f"must be a list of 1 to {MAX_BATCH} items", type="invalid_request_error", param=key)
    return items


def _answer(body: dict[str, Any], key: str, answer: Callable[[Any], dict[str, Any]]) -> JSONResponse:
    """One item's answer, or a batch's answers with their counts."""
    items = _batch(body, key)
    if items is None:
        return JSONResponse(answer_one(body, answer))
    answers = list(answer_items(enumerate(items, start=1), answer, errors=(InboxError,)))
    failed = sum("error" in a for a in answers)
    return JSONResponse({"answers": answers, "answered": len(answers) - failed, "failed": failed})


@router.post(
    "/decisions",
    response_class=JSONResponse,
    responses={200: {"model": DecisionAnswer | DecisionAnswers, "description": "The answer, or a batch's"}},
    openapi_extra=request_body("decision", "decisions"),
)
def decide(
    body: Payload,
    principal: Key,
    request: Request,
    profile: Profile = DEFAULT_PROFILE,
    agent: Agent = None,
    details: Details = False,
) -> JSONResponse:
    """Decide whether each proposed action proceeds or waits for a person (``escalade decide``).

    An unknown ``profile`` is a 400 before anything is stored (the engine checks it first).
    """
    state = state_of(request)
    context = DecisionContext(workspace=principal.workspace, agent=agent)
    engine = decision_engine(state)
    inbox = Inbox(state.store.inbox, engine)

    def waiting(result: EscalationResult, decision: Decision) -> str:
        return inbox.escalated(result, decision, workspace=principal.workspace).id

    def answer(item: object) -> dict[str, Any]:
        line = decision_answer(engine, item, context, details=details, profile=profile, on_escalated=waiting)
        state.metrics.decisions.labels("escalate" if line["escalate"] else "proceed").inc()
        return line

    return _answer(body, "decisions", answer)


@router.post(
    "/outcomes",
    response_class=JSONResponse,
    responses={200: {"model": OutcomeAnswer | OutcomeAnswers, "description": "The answer, or a batch's"}},
    openapi_extra=request_body("outcome", "outcomes"),
)
def outcome(body: Payload, principal: Key, request: Request) -> JSONResponse:
    """Record what happened after decisions, so thresholds learn (``escalade outcome``)."""
    engine = decision_engine(state_of(request))
    return _answer(
        body, "outcomes", lambda item: outcome_answer(engine, item, workspace=principal.workspace, pinned=True)
    )
