"""From a chat request's model name to a policy, and from the pipeline's result to OpenAI's answer.

Model names select a policy, never a setting encoded in the name: ``escalade/auto`` routes the
request and lets the cascade climb; ``escalade/<tier>`` (each tier of the configured ladder) starts
on that tier and never climbs (it still falls back to the tier's other models).

A result no model answered becomes the error of its last failed call: 429 for a rate limit, 504 for
a timeout, 400 for a prompt too long or refused by the content policy, 502 otherwise.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from escalade.ladder import Ladder
from escalade.pipeline import GenerateResult
from escalade.providers import Usage
from escalade.service._chat_models import (
    AssistantMessage,
    ChatCompletion,
    ChatUsage,
    Choice,
    EscaladeTrace,
    EscalationOut,
    FunctionCallOut,
    ModelCard,
    ToolCallOut,
)
from escalade.service._errors import ApiError

logger = logging.getLogger(__name__)

__all__ = ["AUTO", "Policy", "answer_headers", "chat_completion", "finish_reason", "model_cards", "policy_of"]

#: The model name of the routed, cascading policy.
AUTO = "escalade/auto"
_PREFIX = "escalade/"
#: Providers' stop reasons in OpenAI's words.
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
#: The failed call's cause → status and error type, for a request no model answered.
#: Causes whose error text the client is shown (what it can act on: slow down, shorten, rephrase, pay);
#: for every other cause it is told only the cause, and the server's log has the rest.
_SHOWN_CAUSES = frozenset({"rate limit", "timeout", "context window", "content policy", "request budget", "call limit"})
#: What the client is told for causes whose text it is not shown.
_TOLD = {"authentication": "the upstream refused the workspace's upstream key"}
_UNANSWERED = {
    "rate limit": (429, "rate_limit_error"),
    "timeout": (504, "upstream_timeout"),
    "context window": (400, "invalid_request_error"),
    "content policy": (400, "invalid_request_error"),
}


@dataclass(frozen=True, kw_only=True)
class Policy:
    """How one model name answers: the tier it pins (``None``: routed) and whether it may climb."""

    #: The tier the request starts on (``None``: the router picks).
    tier: str | None
    #: Whether the cascade may climb above the start tier.
    climb: bool


def policy_of(model: str, ladder: Ladder) -> Policy:
    """The policy ``model`` names; 404 naming ``model`` when it names none."""
    if model == AUTO:
        return Policy(tier=None, climb=True)
    tier = model.removeprefix(_PREFIX) if model.startswith(_PREFIX) else None
    if tier is None or tier not in ladder.names:
        names = ", ".join(card.id for card in model_cards(ladder, created=0))
        raise ApiError(404, f"no model {model[:80]!r}; models: {names}", type="not_found_error", param="model")
    return Policy(tier=tier, climb=False)


def model_cards(ladder: Ladder, *, created: int) -> list[ModelCard]:
    """Every model name a client may ask for: ``escalade/auto`` then one per tier."""
    return [ModelCard(id=AUTO, created=created), *(ModelCard(id=_PREFIX + n, created=created) for n in ladder.names)]


def finish_reason(result: GenerateResult) -> str:
    """Why the answer stopped, in OpenAI's words (``tool_calls`` whenever tools are called)."""
    if result.tool_calls:
        return "tool_calls"
    reason = result.finish_reason or "stop"
    return _FINISH.get(reason, reason)


def usage_of(result: GenerateResult) -> ChatUsage:
    """Tokens of every attempt of the request, summed (prompt tokens count cached ones)."""
    total = Usage()
    for tier in result.item.tiers:
        for attempt in tier.attempts:
            total = total + attempt.usage
    prompt = total.input_tokens + total.cached_input_tokens + total.cache_write_tokens
    return ChatUsage(prompt_tokens=prompt, completion_tokens=total.output_tokens, total_tokens=total.total_tokens)


def check_answered(result: GenerateResult) -> None:
    """Raise the error of the last failed call when no model answered (see the module docstring)."""
    if result.text is not None or result.tool_calls:
        return
    failed = [a for a in result.attempts if a.error is not None]
    if not failed:
        raise ApiError(502, "the upstream sent no answer", type="upstream_error", code="no_answer")
    last = failed[-1]
    status, kind = _UNANSWERED.get(last.error_cause or "", (502, "upstream_error"))
    cause = last.error_cause or "unexpected"
    detail = str(last.error)
    if cause not in _SHOWN_CAUSES:  # what the upstream or the server said stays in the server's log
        logger.warning("no model answered run %s (%s): %s", result.run_id, cause, last.error)
        detail = f"{_TOLD.get(cause, f'the upstream call failed ({cause})')}; the server's log has its answer"
    message = f"no model answered ({len(failed)} failed call{'s' if len(failed) > 1 else ''}): {detail}"
    raise ApiError(status, message[:500], type=kind, code=(last.error_cause or "upstream").replace(" ", "_"))


def trace_of(result: GenerateResult) -> EscaladeTrace:
    """The ``escalade`` extension field."""
    return EscaladeTrace(
        status=result.status,
        tier_started=result.tier_started,
        tier_ended=result.tier_ended,
        model=result.model,
        models_tried=list(result.models_tried),
        cost_usd=result.cost_usd,
        reasons=list(result.reasons),
        escalations=[
            EscalationOut(from_tier=e.from_tier, to_tier=e.to_tier, reason=e.reason) for e in result.escalations
        ],
        run_id=result.run_id,
    )


def completion_id() -> str:
    """A new ``chatcmpl-`` id."""
    return f"chatcmpl-{uuid.uuid4().hex}"


def chat_completion(result: GenerateResult, *, model: str) -> ChatCompletion:
    """The non-streamed answer, ``model`` being the name the client asked for."""
    calls = [
        ToolCallOut(id=c.id, function=FunctionCallOut(name=c.name, arguments=c.arguments)) for c in result.tool_calls
    ]
    message = AssistantMessage(content=result.text, tool_calls=calls or None)
    return ChatCompletion(
        id=completion_id(),
        created=int(time.time()),
        model=model,
        choices=[Choice(message=message, finish_reason=finish_reason(result))],
        usage=usage_of(result),
        escalade=trace_of(result),
    )


def answer_headers(result: GenerateResult) -> dict[str, str]:
    """The trace in headers: the tier that answered, its model, the cost, every model asked."""
    return {
        "x-escalade-tier": result.tier_ended or "",
        "x-escalade-model": result.model or "",
        "x-escalade-cost-usd": f"{result.cost_usd:.8f}",
        "x-escalade-models-tried": ",".join(result.models_tried),
    }
