"""The engine's JSON answers, one per decision or outcome, for every edge that asks it.

``escalade decide`` / ``escalade outcome`` print them as lines, and ``POST /v1/decisions`` /
``/v1/outcomes`` return them, so both edges answer with the same fields and the same errors:

- a decision: ``{"id", "escalate", "confidence", "priority", "type", "reasons", "rule_hits"}``
  (:meth:`~escalade.autonomy.EscalationResult.to_line`), or everything with ``details``;
- an outcome: ``{"id", "verdict", "label", "learned_offset"}``;
- an item that cannot be answered: ``{"id", "line", "error"}``, ``line`` counting items from 1.

The ``id`` is echoed as it was given (a string or a short integer), in answers and errors alike.

>>> from escalade.autonomy import DecisionContext, EscalationEngine
>>> items = [(1, {"id": 7, "description": "Fix a typo in the README"}), (2, {"id": "x"})]
>>> [sorted(a) for a in answer_items(items, lambda d: decision_answer(EscalationEngine(), d, DecisionContext()))]
[['confidence', 'escalate', 'id', 'priority', 'reasons', 'rule_hits', 'type'], ['error', 'id', 'line']]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from escalade.autonomy._decisions import MAX_ID, Decision, DecisionContext, parse_decision
from escalade.autonomy._engine import EscalationEngine, EscalationResult
from escalade.autonomy._history import _OutcomeInput, parse_outcome
from escalade.exceptions import DecisionError

__all__ = [
    "Unreadable",
    "answer_items",
    "answer_one",
    "decision_answer",
    "error_line",
    "given_id",
    "input_schemas",
    "outcome_answer",
]


@dataclass(frozen=True)
class Unreadable:
    """An item that is not a JSON object at all (a line that is not JSON, say): why."""

    message: str


def given_id(item: object) -> str | int | None:
    """The item's id as it was given (a string or a short integer), to echo back; ``None`` otherwise."""
    raw_id = item.get("id") if isinstance(item, Mapping) else None
    shown = isinstance(raw_id, str) or (
        isinstance(raw_id, int) and not isinstance(raw_id, bool) and abs(raw_id) < 10**MAX_ID
    )
    return raw_id if shown else None


def error_line(position: int, item: object, message: str) -> dict[str, Any]:
    """The answer to an item that could not be decided or recorded."""
    return {"id": given_id(item), "line": position, "error": message}


def answer_items(
    items: Iterable[tuple[int, object]],
    answer: Callable[[Any], dict[str, Any]],
    *,
    errors: tuple[type[Exception], ...] = (),
) -> Iterator[dict[str, Any]]:
    """``answer`` each ``(position, item)`` in turn; one that raises a :class:`DecisionError` (or one of
    ``errors``) gets its error line and the next is read."""
    caught: tuple[type[Exception], ...] = (DecisionError, *errors)
    for position, item in items:
        if isinstance(item, Unreadable):
            yield error_line(position, None, item.message)
            continue
        try:
            yield answer_one(item, answer)
        except caught as exc:
            yield error_line(position, item, str(exc))


def answer_one(item: object, answer: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """``answer(item)`` with the item's id as it was given; a malformed item raises :class:`DecisionError`."""
    line = answer(item)
    given = given_id(item)
    return {**line, "id": given} if given is not None else line


def decision_answer(
    engine: EscalationEngine,
    item: object,
    context: DecisionContext,
    *,
    details: bool = False,
    profile: str | None = None,
    on_escalated: Callable[[EscalationResult, Decision], str] | None = None,
    person: str | None = None,
) -> dict[str, Any]:
    """Decide ``item`` (stored and audited) and answer it: the short line, or everything with ``details``.

    ``on_escalated`` receives each escalated decision (an inbox puts it in front of a person) and
    returns the id it is known by there, answered as ``inbox_id``. ``person``: whose learned
    preference may let an escalation proceed (``auto_approved_by`` in the answer).
    """
    if not isinstance(item, Mapping):
        raise DecisionError(f"a decision must be a JSON object, got {type(item).__name__}")
    decision = parse_decision(item)
    result = engine.evaluate(decision, context, profile=profile, person=person)
    line = result.to_dict() if details else result.to_line()
    if result.should_escalate and on_escalated is not None:
        line["inbox_id"] = on_escalated(result, decision)
    return line


def outcome_answer(engine: EscalationEngine, item: object, *, workspace: str, pinned: bool = False) -> dict[str, Any]:
    """Record the outcome ``item`` in ``workspace`` (or the one it names, unless ``pinned``) and answer it.

    ``pinned``: the workspace is the caller's (a service key's), and an item naming another is refused.
    """
    if not isinstance(item, Mapping):
        raise DecisionError(f"an outcome must be a JSON object, got {type(item).__name__}")
    decision_id, named, outcome = parse_outcome(item)
    if pinned and named not in (None, workspace):
        raise DecisionError(
            f"outcomes are recorded in the key's own workspace {workspace!r}; leave workspace out",
            decision_id=decision_id,
            field="workspace",
        )
    done = engine.record_outcome(decision_id, outcome, workspace=named or workspace)
    return {
        "id": decision_id,
        "verdict": done.verdict,
        "label": done.record.label(),
        "learned_offset": done.learned_offset,
    }


def _inlined(schema: Any, defs: Mapping[str, Any]) -> Any:
    """``schema`` with every ``{"$ref": "#/$defs/X"}`` replaced by ``X`` itself (the models are not recursive)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inlined(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inlined(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(v, defs) for v in schema]
    return schema


def input_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schemas of a ``decision`` and an ``outcome`` item, self-contained (for an API's documentation)."""
    found = {}
    for name, model in (("decision", Decision), ("outcome", _OutcomeInput)):
        schema = model.model_json_schema()
        found[name] = _inlined(schema, schema.get("$defs", {}))
    return found
