"""LangGraph's Agent Inbox shapes: an item as a ``HumanInterrupt``, a ``HumanResponse`` as an answer.

A LangGraph agent that pauses with ``interrupt(...)`` and a person answering in LangChain's Agent
Inbox exchange two JSON shapes. escalade produces the first from an inbox item and accepts the
second as an answer, so an agent built for the Agent Inbox can use escalade's inbox instead:

``HumanInterrupt`` (:func:`to_human_interrupt`)::

    {"action_request": {"action": <the decision's description>, "args": {<its stated fields>}},
     "config": {"allow_accept": true, "allow_edit": true, "allow_respond": true, "allow_ignore": true},
     "description": <the item rendered as Markdown: reasons, rules, recommendation>}

``HumanResponse`` (:func:`from_human_response`), ``{"type": ..., "args": ...}``:

==============  ================================  =============================================
type            args                              escalade answer
==============  ================================  =============================================
``accept``      ``null``                          ``approve``
``edit``        ``{"action", "args"}`` (edited)   ``modify``, with the args that changed as its
                                                  ``parameters`` (no change: ``approve``)
``response``    text                              ``reject``, the text as ``feedback`` (the agent
                                                  should not go ahead as proposed, but read it)
``ignore``      ``null``                          ``reject``, feedback "ignored in the Agent
                                                  Inbox" (the step is skipped)
==============  ================================  =============================================

The Agent Inbox sends a list of responses, one per interrupt; a list of exactly one is accepted.
Who answers (``by``) is not in LangGraph's shape: the caller names them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from escalade.exceptions import InboxError
from escalade.inbox._items import InboxItem
from escalade.inbox._responses import MAX_TEXT, InboxAnswer, parse_answer
from escalade.inbox._templates import Templates

__all__ = ["RESPONSE_TYPES", "from_human_response", "interrupt_args", "to_human_interrupt"]

#: The ``type`` values of LangGraph's ``HumanResponse``.
RESPONSE_TYPES = ("accept", "edit", "response", "ignore")
_IGNORED = "ignored in the Agent Inbox"


def interrupt_args(item: InboxItem) -> dict[str, Any]:
    """The ``args`` of the item's ``action_request``: what an ``edit`` may change."""
    args: dict[str, Any] = {
        "decision_id": item.decision_id,
        "type": item.type.value,
        "priority": item.priority.value,
    }
    if item.environment is not None:
        args["environment"] = item.environment
    if item.affected_files:
        args["affected_files"] = list(item.affected_files)
    if item.affected_systems:
        args["affected_systems"] = list(item.affected_systems)
    return args


def to_human_interrupt(item: InboxItem, *, templates: Templates | None = None) -> dict[str, Any]:
    """The item as LangGraph's ``HumanInterrupt`` (see the module docstring)."""
    text = (templates or Templates()).render(item, "markdown")
    return {
        "action_request": {"action": item.description, "args": interrupt_args(item)},
        "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True},
        "description": text,
    }


def _one(response: object) -> Mapping[str, Any]:
    if isinstance(response, list):
        if len(response) != 1:
            raise InboxError(f"give exactly one HumanResponse, got a list of {len(response)}", field="response")
        response = response[0]
    if not isinstance(response, Mapping):
        raise InboxError("a HumanResponse is an object with 'type' and 'args'", field="response")
    unknown = sorted(set(response) - {"type", "args"})
    if unknown:
        raise InboxError(f"unknown field {unknown[0][:80]!r} in a HumanResponse", field=unknown[0][:80])
    if response.get("type") not in RESPONSE_TYPES:
        raise InboxError(f"type must be one of {', '.join(RESPONSE_TYPES)}", field="type")
    return response


def _edited(item: InboxItem, args: object) -> dict[str, Any]:
    """The args an ``edit`` changed (an :class:`InboxError` when its ``args`` is not an action request)."""
    if not isinstance(args, Mapping) or not isinstance(args.get("args"), Mapping):
        raise InboxError("an edit's args must be an action request: {'action': ..., 'args': {...}}", field="args")
    original = interrupt_args(item)
    edited = dict(args["args"])
    changed = {k: v for k, v in edited.items() if original.get(k) != v}
    removed = [k for k in original if k not in edited]
    if removed:
        raise InboxError(f"an edit may change args, not remove them (removed {removed[0]!r})", field="args")
    if isinstance(args.get("action"), str) and args["action"] != item.description:
        changed["action"] = args["action"]
    return changed


def from_human_response(item: InboxItem, response: object, *, by: str) -> InboxAnswer:
    """The escalade answer for LangGraph's ``HumanResponse`` to ``item``, given by ``by``."""
    given = _one(response)
    kind, args = given["type"], given.get("args")
    if kind in ("accept", "ignore") and args not in (None, "", {}):
        raise InboxError(f"a {kind!r} response carries no args", field="args")
    if kind == "accept":
        return parse_answer({"action": "approve", "by": by})
    if kind == "ignore":
        return parse_answer({"action": "reject", "by": by, "feedback": _IGNORED})
    if kind == "response":
        if not isinstance(args, str) or not args.strip():
            raise InboxError("a 'response' carries its text as args", field="args")
        return parse_answer({"action": "reject", "by": by, "feedback": args[:MAX_TEXT]})
    changed = _edited(item, args)
    if not changed:
        return parse_answer({"action": "approve", "by": by})
    return parse_answer({"action": "modify", "by": by, "parameters": changed})
