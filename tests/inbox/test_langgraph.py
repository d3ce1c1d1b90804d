"""LangGraph's Agent Inbox shapes: items out as HumanInterrupt, HumanResponse in as answers."""

from __future__ import annotations

from typing import Any

import pytest

from escalade.exceptions import InboxError
from escalade.inbox import from_human_response, to_human_interrupt
from tests.inbox.items import item


def test_an_item_is_a_human_interrupt() -> None:
    """The interrupt names the action, its args, every allowed response and a Markdown description."""
    it = item("high", type="deployment", systems=("api",), environment="staging")
    interrupt = to_human_interrupt(it)
    assert set(interrupt) == {"action_request", "config", "description"}
    assert interrupt["action_request"]["action"] == it.description
    assert interrupt["action_request"]["args"] == {
        "decision_id": it.decision_id,
        "type": "deployment",
        "priority": "high",
        "environment": "staging",
        "affected_systems": ["api"],
    }
    assert interrupt["config"] == dict.fromkeys(("allow_accept", "allow_edit", "allow_respond", "allow_ignore"), True)
    assert it.description in interrupt["description"]


@pytest.mark.parametrize(
    ("response", "action", "field", "value"),
    [
        ({"type": "accept", "args": None}, "approve", None, None),
        ([{"type": "accept", "args": None}], "approve", None, None),
        ({"type": "response", "args": "use the blue-green path"}, "reject", "feedback", "use the blue-green path"),
        ({"type": "ignore", "args": None}, "reject", "feedback", "ignored in the Agent Inbox"),
    ],
)
def test_human_responses_become_answers(response: Any, action: str, field: str | None, value: str | None) -> None:
    """accept approves, a text response rejects with it as feedback, ignore rejects and says so."""
    answer = from_human_response(item(), response, by="ana")
    assert (answer.action, answer.by) == (action, "ana")
    if field is not None:
        assert getattr(answer, field) == value


def test_an_edit_modifies_with_the_changed_args_only() -> None:
    """An edit's changed args become the modification's parameters; an edit changing nothing approves."""
    it = item(systems=("api",), environment="staging")
    args = to_human_interrupt(it)["action_request"]["args"]
    edited = {"action": it.description, "args": {**args, "environment": "development", "replicas": 2}}
    answer = from_human_response(it, {"type": "edit", "args": edited}, by="ana")
    assert (answer.action, answer.parameters) == ("modify", {"environment": "development", "replicas": 2})
    renamed = from_human_response(it, {"type": "edit", "args": {"action": "Roll back", "args": args}}, by="ana")
    assert renamed.parameters == {"action": "Roll back"}
    same = from_human_response(it, {"type": "edit", "args": {"action": it.description, "args": args}}, by="ana")
    assert same.action == "approve"


@pytest.mark.parametrize(
    ("response", "match"),
    [
        ([], "exactly one"),
        ([{"type": "accept"}, {"type": "accept"}], "exactly one"),
        ("accept", "an object"),
        ({"type": "approve", "args": None}, "type must be one of"),
        ({"type": "accept", "args": None, "extra": 1}, "unknown field 'extra'"),
        ({"type": "accept", "args": "text"}, "carries no args"),
        ({"type": "response", "args": None}, "its text"),
        ({"type": "response", "args": "  "}, "its text"),
        ({"type": "edit", "args": "text"}, "action request"),
        ({"type": "edit", "args": {"action": "x", "args": {}}}, "not remove them"),
    ],
)
def test_malformed_responses_are_refused(response: Any, match: str) -> None:
    """Each malformed HumanResponse is an InboxError saying what is wrong."""
    with pytest.raises(InboxError, match=match):
        from_human_response(item(), response, by="ana")


def test_the_person_is_checked() -> None:
    """Who answers is escalade's, checked as any answer's ``by``."""
    with pytest.raises(InboxError, match="by"):
        from_human_response(item(), {"type": "accept", "args": None}, by=" ")
