"""``/v1/chat/completions`` and ``/v1/models``: escalade behind OpenAI's chat API, for any OpenAI client.

The model name picks the policy (:mod:`escalade.service._chat_answer`): ``escalade/auto`` routes and
cascades, ``escalade/<tier>`` pins a tier. The whole request is honoured or refused by name
(:mod:`escalade.service._chat_models`); it runs through the workspace's one-call pipeline, on its
upstream key, budget and preferences. The answer is OpenAI's ``chat.completion`` (or its stream,
sent once the cascade has decided: :mod:`escalade.service._chat_stream`) with the trace in an
``escalade`` field and ``x-escalade-*`` headers.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from escalade.pipeline import GenerateResult
from escalade.service._auth import Principal, require_key
from escalade.service._chat_answer import answer_headers, chat_completion, check_answered, model_cards, policy_of
from escalade.service._chat_models import ChatCompletion, ChatRequest, ModelList
from escalade.service._chat_stream import chat_events
from escalade.service._errors import ERROR_RESPONSES
from escalade.service._state import ServiceState, state_of

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["chat"], responses=ERROR_RESPONSES)

Caller = Annotated[Principal, Depends(require_key)]
#: When this module's models count as created (OpenAI's ``created`` of a model; fixed for a process).
_CREATED = int(time.time())
_STREAMED: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "The answer"}
}


@router.get("/models", response_model=ModelList)
def list_models(request: Request, caller: Caller) -> ModelList:
    """The model names a request may ask for: ``escalade/auto`` and one per tier of the ladder."""
    return ModelList(data=model_cards(state_of(request).pipelines.config.tiers, created=_CREATED))


@router.post("/chat/completions", response_model=ChatCompletion, responses=_STREAMED)
async def chat_completions(body: ChatRequest, request: Request, caller: Caller) -> Response:
    """Answer a chat request through the cascade (streamed as server-sent events with ``stream: true``)."""
    state = state_of(request)
    result = await _answer(state, body, caller.workspace)
    headers = answer_headers(result)
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        events = chat_events(result, model=body.model, include_usage=include_usage)
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)
    answer = chat_completion(result, model=body.model)
    return JSONResponse(answer.model_dump(mode="json"), headers=headers)


async def _answer(state: ServiceState, body: ChatRequest, workspace: str) -> GenerateResult:
    """The pipeline's answer to ``body`` in ``workspace`` (an error for a request nothing answered)."""
    policy = policy_of(body.model, state.pipelines.config.tiers)
    body.check_honoured()
    messages = body.conversation()
    prompt = next((m.content or "" for m in reversed(messages) if m.role == "user"), "")
    ai, request_id = await anyio.to_thread.run_sync(state.pipelines.for_prompt, workspace, prompt)
    options = body.generate_options()
    result = await ai.agenerate(messages, tier=policy.tier, climb=policy.climb, request_id=request_id, **options)
    errors = [a.error_cause or "unknown" for a in result.attempts if a.error is not None]
    state.metrics.observe_result(result.tier_started, result.tier_ended, [e.reason for e in result.escalations], errors)
    check_answered(result)
    return result
