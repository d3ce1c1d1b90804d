"""What a person typed in an item's form, as an inbox answer: checked here, applied by :class:`~escalade.inbox.Inbox`.

Each form posts its ``action`` and that action's fields: ``conditions`` one per line, ``parameters``
as a JSON object, ``to`` a person or ``role:NAME``, and for a deferral either ``minutes`` from now or
``until`` (the browser's local date and time) with the person's ``tz`` offset (``+01:00``). What
cannot be read is an :class:`~escalade.exceptions.InboxError` saying what to fix, and nothing changes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from escalade.exceptions import InboxError

__all__ = ["AnswerForm", "answer_of", "done_message"]

_OFFSET = re.compile(r"[+-](?:[01]\d|2[0-3]):[0-5]\d")
#: Longest deferral, in minutes (a year).
MAX_DEFER_MIN = 366 * 24 * 60


@dataclass(frozen=True, kw_only=True)
class AnswerForm:
    """An item's form as posted (every field a string, empty when not given)."""

    action: str
    feedback: str = ""
    conditions: str = ""
    parameters: str = ""
    to: str = ""
    until: str = ""
    tz: str = ""
    minutes: str = ""


def _parameters(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except ValueError as exc:
        raise InboxError(f"the parameters are not valid JSON ({exc})", field="parameters") from None
    except RecursionError:
        raise InboxError("the parameters nest too deep", field="parameters") from None
    if not isinstance(found, dict) or not found:
        raise InboxError('the parameters must be a JSON object of what to change, like {"replicas": 2}')
    return found


def _until(form: AnswerForm, now: datetime) -> str:
    if form.minutes.strip():
        try:
            minutes = int(form.minutes)
        except ValueError:
            raise InboxError(f"minutes must be a whole number, got {form.minutes[:20]!r}", field="minutes") from None
        if not 1 <= minutes <= MAX_DEFER_MIN:
            raise InboxError(f"minutes must be 1 to {MAX_DEFER_MIN}, got {minutes}", field="minutes")
        return (now + timedelta(minutes=minutes)).isoformat()
    offset = form.tz.strip() or "+00:00"
    if not _OFFSET.fullmatch(offset):
        raise InboxError(f"the time zone offset must read like +01:00 or -05:30, got {offset[:10]!r}", field="tz")
    try:
        return datetime.fromisoformat(form.until.strip() + offset).isoformat()
    except ValueError:
        raise InboxError("give a date and time to defer until, or minutes from now", field="until") from None


def answer_of(form: AnswerForm, *, by: str, now: datetime) -> dict[str, Any]:
    """The answer ``form`` gives, as :func:`~escalade.inbox.parse_answer` reads it."""
    answer: dict[str, Any] = {"action": form.action, "by": by}
    if form.feedback.strip():
        answer["feedback"] = form.feedback.strip()
    if form.action == "approve_with_conditions":
        answer["conditions"] = [line.strip() for line in form.conditions.splitlines() if line.strip()]
    elif form.action == "modify":
        answer["parameters"] = _parameters(form.parameters)
    elif form.action == "delegate":
        answer["to"] = form.to.strip()
    elif form.action == "defer":
        answer["until"] = _until(form, now)
    return answer


_DONE = {
    "approve": "approved",
    "approve_with_conditions": "approved with conditions",
    "modify": "modified",
    "reject": "rejected",
    "delegate": "delegated",
    "defer": "deferred",
}


def done_message(action: str, decision_id: str, answer: dict[str, Any]) -> str:
    """``approved d1``, ``delegated d1 to role:sre``: what the flash line says was done."""
    text = f"{_DONE.get(action, action)} {decision_id}"
    if action == "delegate":
        text += f" to {answer['to']}"
    elif action == "defer":
        text += f" until {datetime.fromisoformat(answer['until']):%Y-%m-%d %H:%M %z}"
    return text
