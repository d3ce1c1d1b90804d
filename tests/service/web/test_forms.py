"""An item's form as an inbox answer: each action's fields read, and what cannot be read said plainly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalade.exceptions import InboxError
from escalade.inbox import parse_answer
from escalade.service.web._forms import AnswerForm, answer_of, done_message

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (AnswerForm(action="approve", feedback="  fine "), {"feedback": "fine"}),
        (AnswerForm(action="approve_with_conditions", conditions="after 18:00\n\n only EU \n"),
         {"conditions": ["after 18:00", "only EU"]}),
        (AnswerForm(action="modify", parameters='{"replicas": 2}'), {"parameters": {"replicas": 2}}),
        (AnswerForm(action="delegate", to=" role:sre "), {"to": "role:sre"}),
        (AnswerForm(action="defer", minutes="90"), {"until": (NOW + timedelta(minutes=90)).isoformat()}),
        (AnswerForm(action="defer", until="2026-12-03T09:30", tz="-05:30"),
         {"until": "2026-12-03T09:30:00-05:30"}),
        (AnswerForm(action="defer", until="2026-12-03T09:30"), {"until": "2026-12-03T09:30:00+00:00"}),
    ],
)  # fmt: skip
def test_each_action_reads_its_fields(form: AnswerForm, expected: dict[str, object]) -> None:
    answer = answer_of(form, by="ana", now=NOW)
    assert answer == {"action": form.action, "by": "ana", **expected}
    assert parse_answer(answer).action == form.action  # what the inbox accepts


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (AnswerForm(action="modify", parameters="{replicas: 2}"), "not valid JSON"),
        (AnswerForm(action="modify", parameters=""), "not valid JSON"),
        (AnswerForm(action="modify", parameters="{}"), "must be a JSON object"),
        (AnswerForm(action="modify", parameters="[1]"), "must be a JSON object"),
        (AnswerForm(action="defer", minutes="soon"), "whole number"),
        (AnswerForm(action="defer", minutes="0"), "minutes must be 1 to"),
        (AnswerForm(action="defer", minutes="999999999"), "minutes must be 1 to"),
        (AnswerForm(action="defer", until="2026-12-03T09:30", tz="CET"), "offset must read like"),
        (AnswerForm(action="defer", until="tomorrow"), "give a date and time"),
        (AnswerForm(action="defer"), "give a date and time"),
    ],
)
def test_what_cannot_be_read_says_what_to_fix(form: AnswerForm, message: str) -> None:
    with pytest.raises(InboxError, match=message):
        answer_of(form, by="ana", now=NOW)


def test_the_flash_line_says_what_was_done() -> None:
    assert done_message("approve", "d1", {}) == "approved d1"
    assert done_message("delegate", "d1", {"to": "role:sre"}) == "delegated d1 to role:sre"
    assert (
        done_message("defer", "d1", {"until": "2026-12-03T09:30:00+02:00"})
        == "deferred d1 until 2026-12-03 09:30 +0200"
    )
