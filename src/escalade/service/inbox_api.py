"""The inbox over HTTP: wait for a person's answer, list and read items, answer them.

- ``GET /v1/decisions/{ref}/wait``: the agent's side. ``ref`` is the decision's id or its inbox id.
  A long poll by default (the answer once the item is answered or expired, or after ``timeout``
  seconds its state with ``done: false``); with ``Accept: text/event-stream``, a stream of events
  (:mod:`escalade.service._inbox_wait`). A decision that proceeded on its own is ``done`` at once,
  in state ``proceeded``.
- ``GET /v1/inbox/stats``: the workspace's inbox metrics (:mod:`escalade.inbox._stats`).
- ``GET /v1/inbox`` (open items, most urgent first; ``person`` keeps those they may answer) and
  ``GET /v1/inbox/{ref}`` (one item), as JSON, or ``format=langgraph`` as LangGraph's
  ``HumanInterrupt`` (:mod:`escalade.inbox._langgraph`), or ``text``/``markdown``/``html`` as its
  template renders it.
- ``POST /v1/inbox/{ref}/answer`` (an answer as ``escalade inbox respond`` reads it, without
  ``id``), ``POST /v1/inbox/{ref}/langgraph?by=NAME`` (a ``HumanResponse``) and
  ``POST /v1/inbox/answers`` (a batch answer: ``items``, ``answer``, ``exceptions``).

Everything is in the key's workspace. A per-person token (``escalade api-key create --person``)
answers only in its person's name (``by``), with its roles; a workspace key may name anyone. An
unknown item is a 404; an answer the item cannot take (answered already, expired, changed meanwhile)
is a 409; an answer by someone the item is not for is a 403; a malformed one is a 400 naming its
field. Nothing changes on any of them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError

from escalade.exceptions import InboxError
from escalade.inbox import (
    FORMATS,
    MAX_NAME,
    BatchAnswer,
    Inbox,
    InboxAnswer,
    InboxItem,
    Templates,
    from_human_response,
    inbox_stats,
    parse_answer,
    to_human_interrupt,
    workspace_items,
)
from escalade.service._auth import Principal, require_key
from escalade.service._errors import ERROR_RESPONSES, ApiError
from escalade.service._inbox import inbox_of
from escalade.service._inbox_wait import (
    MAX_LONG_POLL_S,
    MAX_STREAM_S,
    WaitStream,
    events,
    long_poll,
    take_slot,
    waited,
)
from escalade.service._state import state_of

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["inbox"], responses=ERROR_RESPONSES)

Key = Annotated[Principal, Depends(require_key)]
Ref = Annotated[str, Path(min_length=1, max_length=200, description="The decision's id or its inbox id.")]
Payload = Annotated[dict[str, Any], Body()]
Shape = Literal["json", "langgraph", "text", "markdown", "html"]
_MEDIA = {"text": "text/plain", "markdown": "text/markdown", "html": "text/html"}
_STREAMED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The item's state once answered (or at the timeout); a stream with Accept: text/event-stream",
        "content": {"application/json": {}, "text/event-stream": {"schema": {"type": "string"}}},
    }
}


def _item(inbox: Inbox, ref: str, workspace: str) -> InboxItem:
    try:
        return inbox.get(ref, workspace=workspace)
    except InboxError as exc:
        raise ApiError(404, str(exc), type="not_found_error", code="inbox_item_not_found") from None


def _proceeded(inbox: Inbox, ref: str, workspace: str) -> dict[str, Any] | None:
    """The wait answer of a decision that proceeded on its own (``None``: no such decision)."""
    record = inbox.engine.store.get_decision(workspace, ref) if inbox.engine is not None else None
    if record is None or record.escalated:
        return None
    return {"id": None, "decision_id": ref, "state": "proceeded", "done": True, "answer": None, "answered_by": None}


@router.get("/decisions/{ref}/wait", responses=_STREAMED, response_class=JSONResponse)
async def wait(
    ref: Ref,
    principal: Key,
    request: Request,
    timeout: Annotated[float, Query(ge=0, le=MAX_STREAM_S, description="Seconds to wait (a long poll: ≤ 300).")] = 30,
) -> Response:
    """Wait until a person answers the decision (see the module docstring)."""
    state = state_of(request)
    inbox = inbox_of(state)
    workspace = principal.workspace

    def read() -> InboxItem:
        return inbox.get(ref, workspace=workspace)

    try:
        await anyio.to_thread.run_sync(read)
    except InboxError:  # no item: the decision proceeded, was never made, or is not in the inbox
        found = await anyio.to_thread.run_sync(_proceeded, inbox, ref, workspace)
        if found is None:
            message = f"no inbox item or decision {ref[:80]!r} in this workspace"
            raise ApiError(404, message, type="not_found_error") from None
        return JSONResponse(found)
    streamed = "text/event-stream" in request.headers.get("accept", "")
    if not streamed and timeout > MAX_LONG_POLL_S:
        message = f"a long poll waits at most {MAX_LONG_POLL_S:g} s (a stream longer)"
        raise ApiError(400, message, type="invalid_request_error", param="timeout")
    release = take_slot(state, workspace)
    if streamed:
        return WaitStream(events(state, read, timeout_s=timeout, gone=request.is_disconnected), release)
    try:
        item = await long_poll(state, read, timeout_s=timeout, gone=request.is_disconnected)
    finally:
        release()
    return JSONResponse(waited(item))


def _shaped(item: InboxItem, shape: Shape) -> Any:
    if shape == "json":
        return item.to_dict()
    if shape == "langgraph":
        return to_human_interrupt(item) | {"id": item.id, "decision_id": item.decision_id}
    return Templates().render(item, shape)


@router.get("/inbox")
def list_items(
    principal: Key,
    request: Request,
    person: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    role: Annotated[list[str] | None, Query(max_length=20, description="Roles of the person (each ≤ 100).")] = None,
    format: Annotated[Literal["json", "langgraph"], Query()] = "json",
) -> JSONResponse:
    """Open items, most urgent first (those ``person``, holding ``role``, may answer, if given)."""
    if any(not 0 < len(r) <= MAX_NAME for r in role or ()):
        raise ApiError(400, f"each role is 1 to {MAX_NAME} characters", type="invalid_request_error", param="role")
    inbox = inbox_of(state_of(request))
    found = inbox.open_items(principal.workspace, person=person, roles=tuple(role or ()))
    return JSONResponse({"items": [_shaped(i, format) for i in found], "count": len(found)})


@router.get("/inbox/stats")
def stats(principal: Key, request: Request) -> JSONResponse:
    """The workspace's inbox metrics: response times, batch efficiency, interruptions per person, overrides."""
    store = state_of(request).store.inbox
    found = inbox_stats(workspace_items(store, principal.workspace), now=datetime.now(UTC))
    return JSONResponse(found.to_dict())


@router.get("/inbox/{ref}", responses={200: {"content": {m: {} for m in _MEDIA.values()}}})
def get_item(ref: Ref, principal: Key, request: Request, format: Annotated[Shape, Query()] = "json") -> Response:
    """One item: as JSON, LangGraph's ``HumanInterrupt``, or rendered by its template."""
    item = _item(inbox_of(state_of(request)), ref, principal.workspace)
    shaped = _shaped(item, format)
    if format in FORMATS:
        return PlainTextResponse(shaped, media_type=_MEDIA[format])
    return JSONResponse(shaped)


def _own(principal: Principal, answers: list[InboxAnswer]) -> None:
    """A per-person token answers in its person's name only (403 otherwise)."""
    for answer in answers:
        if principal.person is not None and answer.by != principal.person:
            message = f"this token answers as {principal.person!r}, not as {answer.by!r}"
            raise ApiError(403, message, type="permission_error", param="by")


def _apply(inbox: Inbox, item: InboxItem, answer: InboxAnswer, principal: Principal) -> JSONResponse:
    """``answer`` applied to ``item``: 403 when its person may not answer it, 409 when it cannot take it."""
    _own(principal, [answer])
    if not item.may_answer(answer.by, principal.roles):
        raise ApiError(403, f"{answer.by!r} may not answer this item", type="permission_error", param="by")
    try:
        found = inbox.respond(item.id, answer, workspace=principal.workspace, roles=principal.roles)
        return JSONResponse(found.to_dict())
    except InboxError as exc:
        if "outcome was not recorded" in str(exc):
            raise
        raise ApiError(409, str(exc), type="conflict_error", code="inbox_item_not_open") from None


@router.post("/inbox/{ref}/answer")
def answer_item(ref: Ref, body: Payload, principal: Key, request: Request) -> JSONResponse:
    """Answer one item: ``{"action": ..., "by": ..., ...}`` (see ``escalade inbox respond``)."""
    inbox = inbox_of(state_of(request))
    answer = parse_answer(body)  # malformed: 400 naming the field
    return _apply(inbox, _item(inbox, ref, principal.workspace), answer, principal)


@router.post("/inbox/{ref}/langgraph")
def answer_langgraph(
    ref: Ref,
    principal: Key,
    request: Request,
    by: Annotated[str, Query(min_length=1, max_length=100, description="Who answers.")],
    body: Annotated[Any, Body()],
) -> JSONResponse:
    """Answer one item with LangGraph's ``HumanResponse`` (or a list of one)."""
    inbox = inbox_of(state_of(request))
    item = _item(inbox, ref, principal.workspace)
    return _apply(inbox, item, from_human_response(item, body, by=by), principal)


@router.post("/inbox/answers")
def answer_batch(body: Payload, principal: Key, request: Request) -> JSONResponse:
    """One answer for many items, with per-item exceptions; each item is answered or refused on its own."""
    inbox = inbox_of(state_of(request))
    try:
        batch = BatchAnswer.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        raise ApiError(400, first["msg"][:300], type="invalid_request_error", param=where) from None
    _own(principal, [answer for _, answer in batch.answers()])
    result = inbox.respond_batch(batch, workspace=principal.workspace, roles=principal.roles)
    return JSONResponse(
        {
            "answered": [i.to_dict() for i in result.answered],
            "refused": [{"id": ref, "error": str(exc)} for ref, exc in result.refused],
        }
    )
