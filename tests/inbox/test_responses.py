"""Answers: each kind with what it needs, refused when malformed, and what each tells the engine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from escalade.exceptions import InboxError
from escalade.inbox import BatchAnswer, InboxState, check_answer, outcome_of, parse_answer
from tests.inbox.items import NOW, item


def _deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"action": "approve"}, "by"),
        ({"action": "approve", "by": "  "}, "by"),
        ({"action": "approve", "by": "ana", "colour": "red"}, "colour"),
        ({"action": "ship", "by": "ana"}, "action"),
        ({"action": "modify", "by": "ana"}, None),
        ({"action": "delegate", "by": "ana"}, None),
        ({"action": "defer", "by": "ana"}, None),
        ({"action": "defer", "by": "ana", "until": "2026-12-02T12:00:00"}, "until"),
        ({"action": "approve_with_conditions", "by": "ana"}, None),
        ({"action": "approve", "by": "ana", "to": "bo"}, None),
        ({"action": "reject", "by": "ana", "conditions": ["x"]}, None),
        ({"action": "approve", "by": "ana", "feedback": "x" * 5000}, "feedback"),
        ({"action": "approve", "by": "role:sre"}, "by"),  # a role never answers: its members do
        ({"action": "delegate", "by": "ana", "to": "bo\x00"}, "to"),
        ({"action": "modify", "by": "ana", "parameters": _deep(12)}, "parameters"),
        ({"action": "modify", "by": "ana", "parameters": {"x": "y" * 20_000}}, "parameters"),
        ({"action": "modify", "by": "ana", "parameters": {"x": float("nan")}}, "parameters"),
    ],
)
def test_a_malformed_answer_names_what_is_wrong(given: dict[str, Any], field: str | None) -> None:
    with pytest.raises(InboxError) as caught:
        parse_answer(given)
    assert caught.value.field == field


def test_an_item_answered_expired_or_not_yours_refuses_and_says_why() -> None:
    approve = parse_answer({"action": "approve", "by": "ana"})
    done = item(state=InboxState.ANSWERED, answered_by="bo")
    with pytest.raises(InboxError, match="answered already, by 'bo'"):
        check_answer(done, approve, now=NOW)
    with pytest.raises(InboxError, match="expired"):
        check_answer(item(expires_at=NOW), approve, now=NOW)
    with pytest.raises(InboxError, match="'ana' may not answer it"):
        check_answer(item(assignees=("bo", "role:sre")), approve, now=NOW)
    check_answer(item(assignees=("bo", "role:sre")), approve, now=NOW, roles=("sre",))  # the role is enough
    past = parse_answer({"action": "defer", "by": "ana", "until": (NOW - timedelta(minutes=1)).isoformat()})
    with pytest.raises(InboxError, match="after now"):
        check_answer(item(), past, now=NOW)
    for until in (NOW + timedelta(days=400), NOW + timedelta(hours=2)):  # past a year, past the deadline
        late = parse_answer({"action": "defer", "by": "ana", "until": until.isoformat()})
        with pytest.raises(InboxError, match="within a year and before the item's deadline"):
            check_answer(item(expires_at=NOW + timedelta(hours=1)), late, now=NOW)
    ok = parse_answer({"action": "modify", "by": "ana", "parameters": _deep(6)})
    check_answer(item(), ok, now=NOW)


def test_what_each_answer_tells_the_engine() -> None:
    asked = item(age_s=90)
    kinds: dict[str, dict[str, Any]] = {
        "approve": {},
        "approve_with_conditions": {"conditions": ["after 18:00"]},
        "modify": {"parameters": {"replicas": 2}},
        "reject": {"feedback": "not before the audit"},
    }
    outcomes = {k: outcome_of(asked, parse_answer({"action": k, "by": "ana", **v}), now=NOW) for k, v in kinds.items()}
    assert {k: o.response for k, o in outcomes.items() if o} == {
        "approve": "approve",
        "approve_with_conditions": "modify",
        "modify": "modify",
        "reject": "reject",
    }
    assert all(o is not None and o.response_time_s == 90 for o in outcomes.values())
    assert outcomes["reject"] is not None
    assert outcomes["reject"].note == "not before the audit"
    assert outcomes["approve_with_conditions"] is not None
    assert outcomes["approve_with_conditions"].note == "after 18:00"
    later = (NOW + timedelta(hours=1)).isoformat()
    assert outcome_of(asked, parse_answer({"action": "defer", "by": "ana", "until": later}), now=NOW) is None
    assert outcome_of(asked, parse_answer({"action": "delegate", "by": "ana", "to": "bo"}), now=NOW) is None


def test_a_batch_answer_covers_every_item_but_its_exceptions() -> None:
    batch = BatchAnswer.model_validate(
        {
            "items": ["a", "b", "c", "a"],
            "answer": {"action": "approve", "by": "ana"},
            "exceptions": {"b": {"action": "reject", "by": "ana", "feedback": "no"}},
        }
    )
    assert [(ref, answer.action) for ref, answer in batch.answers()] == [
        ("a", "approve"),
        ("b", "reject"),
        ("c", "approve"),
    ]
    with pytest.raises(ValueError, match="not in the batch: z"):
        BatchAnswer.model_validate(
            {
                "items": ["a"],
                "answer": {"action": "approve", "by": "ana"},
                "exceptions": {"z": {"action": "reject", "by": "ana"}},
            }
        )
