"""The web inbox's routes under ``/inbox``: sign in, the open items in groups, an item, its answers.

Plain HTML forms, no script. Every page needs a session (:mod:`~escalade.service.web._session`)
except sign-in; every form but sign-in carries the session's CSRF token and must come from this
server (``Origin``/``Referer``), else a 403 page, and nothing changes. An answer is given ``by``
the signed-in person with their token's roles, then the browser is sent back to ``/inbox`` (303)
with what was done, or why not, on the page. Everything is read and answered in the session's
workspace: another workspace's item is a 404 page. The routes are not in the OpenAPI schema.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import StringConstraints
from starlette.responses import Response

from escalade.exceptions import EscaladeError, InboxError
from escalade.inbox import BatchAnswer, InboxItem, check_person, parse_answer
from escalade.service._errors import ApiError, from_validation_errors
from escalade.service._inbox import inbox_of
from escalade.service._state import ServiceState, state_of
from escalade.service.web._forms import AnswerForm, answer_of, done_message
from escalade.service.web._pages import groups_of, page, redirect, view_of
from escalade.service.web._session import (
    LOGIN_COOKIE,
    LOGIN_S,
    SESSION_COOKIE,
    SESSION_S,
    Session,
    check_login_token,
    login_token,
    new_session,
    same_origin,
    session_of,
    sign,
    unsign,
)

__all__ = ["router"]

logger = logging.getLogger(__name__)

_FLASH_COOKIE = "escalade_flash"
_PATH = "/inbox"
#: Most items one page shows (the most urgent first; each renders through its template).
MAX_SHOWN = 200


class _PageRoute(APIRoute):
    """A route whose refusals are HTML pages (the API's JSON error bodies stay on ``/v1``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return page("error.html", status=exc.status, message=exc.message)
            except RequestValidationError as exc:
                return page("error.html", status=400, message=from_validation_errors(exc.errors()).message)
            except EscaladeError as exc:
                logger.error("web inbox: %s: %s", type(exc).__name__, exc)
                return page("error.html", status=500, message="the server cannot do this now; its log says why")

        return handle


router = APIRouter(prefix=_PATH, include_in_schema=False, route_class=_PageRoute)

Text = Annotated[str, Form(max_length=4000)]
Short = Annotated[str, Form(max_length=200)]
Ids = Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Form(max_length=500)]


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _flash(response: Response, request: Request, state: ServiceState, text: str, *, error: bool = False) -> Response:
    _cookie(response, request, _FLASH_COOKIE, sign(state, "flash", {"text": text[:500], "error": error}, ttl_s=60), 60)
    return response


def _flashed(request: Request, state: ServiceState) -> dict[str, Any] | None:
    found = unsign(state, "flash", request.cookies.get(_FLASH_COOKIE))
    return found if found is not None and isinstance(found.get("text"), str) else None


def _posted(request: Request, state: ServiceState, csrf: str) -> Session:
    """The session of a form post, or a refusal: not signed in (401), another site's form or a wrong token (403)."""
    session = session_of(request, state)
    if session is None:
        raise ApiError(
            401, "you are not signed in (or your key was revoked): sign in again", type="authentication_error"
        )
    if not same_origin(request) or not session.csrf or not _same(csrf, session.csrf):
        raise ApiError(
            403, "this form did not come from your inbox page: reload it and try again", type="permission_error"
        )
    return session


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _login_page(state: ServiceState, request: Request, *, status: int = 200, message: str | None = None) -> Response:
    token = login_token(state)
    response = page("login.html", status=status, token=token, message=message)
    _cookie(response, request, LOGIN_COOKIE, token, LOGIN_S)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    """The sign-in form: a workspace key with your name, or a per-person token."""
    return _login_page(state_of(request), request)


@router.post("/login")
def login(request: Request, key: Short = "", token: Short = "", name: Short = "") -> Response:
    """Sign in: a generic 401 for any key that is not an active workspace key or token."""
    state = state_of(request)
    if not same_origin(request) or not check_login_token(request, state, token):
        raise ApiError(403, "the sign-in form expired or came from elsewhere: reload it", type="permission_error")
    found = state.store.api_keys.verify(key.strip())
    if found is None:
        return _login_page(state, request, status=401, message="key not valid")
    person = found.person
    if person is None:
        try:
            person = check_person(name, what="your name")
        except InboxError:
            message = "with a workspace key, give your name (1 to 100 characters): answers are recorded by it"
            return _login_page(state, request, status=400, message=message)
        holders = {k.person for k in state.store.api_keys.list(found.workspace) if k.person is not None}
        if person in holders:
            message = f"{person!r} has a personal token: sign in with it"
            return _login_page(state, request, status=403, message=message)
    response = redirect(_PATH)
    _cookie(response, request, SESSION_COOKIE, new_session(state, found, person), SESSION_S)
    response.delete_cookie(LOGIN_COOKIE, path=_PATH)
    return response


@router.post("/logout")
def logout(request: Request, csrf: Short = "") -> Response:
    """Sign out: the session's cookie is dropped."""
    _posted(request, state_of(request), csrf)
    response = redirect(f"{_PATH}/login")
    response.delete_cookie(SESSION_COOKIE, path=_PATH)
    return response


def _shown(request: Request, state: ServiceState, name: str, session: Session, **context: Any) -> Response:
    response = page(name, session=session, flash=_flashed(request, state), **context)
    response.delete_cookie(_FLASH_COOKIE, path=_PATH)
    return response


@router.get("")
def inbox_page(request: Request) -> Response:
    """The signed-in person's open items, most urgent first, in groups of related ones."""
    state = state_of(request)
    session = session_of(request, state)
    if session is None:
        return redirect(f"{_PATH}/login")
    items = inbox_of(state).open_items(session.workspace, person=session.person, roles=session.roles)
    shown = items[:MAX_SHOWN]  # the most urgent first: the rest wait for these
    groups = groups_of(shown, person=session.person, roles=session.roles)
    return _shown(request, state, "inbox.html", session, groups=groups, count=len(items), shown=len(shown))


def _item(state: ServiceState, session: Session, item_id: str) -> InboxItem:
    try:
        return inbox_of(state).get(item_id, workspace=session.workspace)
    except InboxError:
        raise ApiError(404, "no such item in your workspace", type="not_found_error") from None


@router.get("/items/{item_id}")
def item_page(request: Request, item_id: str) -> Response:
    """One item, open or answered (who answered it, and what)."""
    state = state_of(request)
    session = session_of(request, state)
    if session is None:
        return redirect(f"{_PATH}/login")
    found = _item(state, session, item_id[:64])
    view = view_of(found, person=session.person, roles=session.roles)
    return _shown(request, state, "item.html", session, view=view)


@router.post("/items/{item_id}/answer")
def answer(
    request: Request,
    item_id: str,
    csrf: Short = "",
    action: Annotated[str, Form(max_length=40)] = "",
    feedback: Text = "",
    conditions: Text = "",
    parameters: Annotated[str, Form(max_length=16_000)] = "",
    to: Short = "",
    until: Annotated[str, Form(max_length=40)] = "",
    tz: Annotated[str, Form(max_length=10)] = "",
    minutes: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Answer one item as the signed-in person; back to the inbox with what was done, or why not."""
    state = state_of(request)
    session = _posted(request, state, csrf)
    found = _item(state, session, item_id[:64])
    form = AnswerForm(
        action=action,
        feedback=feedback,
        conditions=conditions,
        parameters=parameters,
        to=to,
        until=until,
        tz=tz,
        minutes=minutes,
    )
    response = redirect(_PATH)
    try:
        given = answer_of(form, by=session.person, now=datetime.now(UTC))
        inbox_of(state).respond(found.id, parse_answer(given), workspace=session.workspace, roles=session.roles)
    except InboxError as exc:
        return _flash(response, request, state, str(exc), error=True)
    return _flash(response, request, state, done_message(action, found.decision_id, given))


@router.post("/batch")
def approve_all(
    request: Request, csrf: Short = "", items: Ids | None = None, feedback: Text = "", keep: Ids | None = None
) -> Response:
    """Approve a group's items but those ticked to keep open; back to the inbox with what was done."""
    state = state_of(request)
    session = _posted(request, state, csrf)
    response = redirect(_PATH)
    kept = set(keep or ())
    chosen = [i for i in dict.fromkeys(items or ()) if i not in kept]
    if not chosen:
        return _flash(response, request, state, "nothing approved: every item was kept open", error=True)
    answer: dict[str, Any] = {"action": "approve", "by": session.person}
    if feedback.strip():
        answer["feedback"] = feedback.strip()
    try:
        batch = BatchAnswer.model_validate({"items": chosen, "answer": answer})
    except ValueError as exc:
        return _flash(response, request, state, f"the batch cannot be read: {exc}"[:300], error=True)
    done = inbox_of(state).respond_batch(batch, workspace=session.workspace, roles=session.roles)
    text = "approved " + (", ".join(i.decision_id for i in done.answered) or "nothing")
    if kept:
        text += f"; kept open: {len(kept)}"
    if done.refused:
        text += "; refused: " + "; ".join(str(exc) for _, exc in done.refused)
    return _flash(response, request, state, text, error=bool(done.refused))
