"""What makes two decisions "similar" for a person's preferences: a :class:`PreferenceKey`.

A key holds six features of a decision: its ``type``, ``environment``, the affected ``systems`` (a
sorted set), a ``size`` band (records and files touched), a ``risk`` band (the classification's
impact level) and its ``wording`` (the stem of its first word, the verb of an imperative: "deploy",
"drop", "rotat"). A key is made the same way from an answered :class:`~escalade.inbox.InboxItem`
(the evidence) and from a decision the engine is judging (the question), so both meet.

>>> from escalade.autonomy import EscalationEngine, parse_decision
>>> decision = parse_decision({"description": "Deploy the billing service to staging", "affected_systems": ["billing"]})
>>> key = key_of_decision(decision, EscalationEngine().preview(decision))
>>> key.describe(("type", "environment", "wording"))
'type deployment, environment staging, wording deploy'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from escalade.autonomy import Decision, EscalationResult, Words
from escalade.inbox._items import InboxItem

__all__ = ["FEATURES", "Feature", "PreferenceKey", "key_of_decision", "key_of_item"]

Feature = Literal["type", "environment", "systems", "size", "risk", "wording"]
#: Every feature, finest key first.
FEATURES: tuple[Feature, ...] = ("type", "environment", "systems", "size", "risk", "wording")
#: Upper ends of the record-count bands (more is ``large``) and of the file-count bands (more is ``many``).
_RECORDS = ((0, "none"), (1_000, "small"), (100_000, "medium"))
_FILES = ((0, "none"), (5, "few"))


def _band(count: int, edges: Sequence[tuple[int, str]], above: str) -> str:
    return next((name for top, name in edges if count <= top), above)


@dataclass(frozen=True)
class PreferenceKey:
    """A decision's features for preference learning (see the module docstring)."""

    type: str
    environment: str | None
    systems: tuple[str, ...]
    size: str
    risk: str
    wording: str

    @classmethod
    def of(
        cls,
        *,
        type: str,
        environment: str | None,
        systems: Sequence[str],
        record_count: int,
        file_count: int,
        risk: str,
        description: str,
    ) -> PreferenceKey:
        return _key(type, environment, tuple(systems), record_count, file_count, risk, description)

    def project(self, features: Sequence[Feature]) -> tuple[object, ...]:
        """The key reduced to ``features`` (decisions with equal projections are similar at that level)."""
        return tuple(getattr(self, f) for f in features)

    def describe(self, features: Sequence[Feature]) -> str:
        """``features`` and their values in words, for a reason line."""
        shown = []
        for f in features:
            value = getattr(self, f)
            text = ", ".join(value) or "none" if isinstance(value, tuple) else value or "none"
            shown.append(f"{f} {text}")
        return ", ".join(shown)


@lru_cache(maxsize=8192)
def _key(
    type: str,
    environment: str | None,
    systems: tuple[str, ...],
    record_count: int,
    file_count: int,
    risk: str,
    description: str,
) -> PreferenceKey:
    """A key from its parts (kept: every prediction reads the same answered items again)."""
    stems = Words.of(description).stems
    records = _band(max(0, record_count), _RECORDS, "large")
    files = _band(max(0, file_count), _FILES, "many")
    return PreferenceKey(
        type=type,
        environment=environment,
        systems=tuple(sorted(set(systems))),
        size=f"records {records}, files {files}",
        risk=risk,
        wording=stems[0] if stems else "",
    )


def key_of_item(item: InboxItem) -> PreferenceKey:
    """The key of an inbox item (what a person answered)."""
    c: Mapping[str, object] = item.classification
    records = c.get("record_count")
    return PreferenceKey.of(
        type=item.type.value,
        environment=item.environment,
        systems=item.affected_systems,
        record_count=records if isinstance(records, int) else 0,
        file_count=len(item.affected_files),
        risk=str(c.get("impact") or "unknown"),
        description=item.description,
    )


def key_of_decision(decision: Decision, result: EscalationResult) -> PreferenceKey:
    """The key of a decision the engine judged (``result``), as its inbox item would have it."""
    c = result.classification
    return PreferenceKey.of(
        type=result.type.value,
        environment=c.environment.value if c.environment is not None else None,
        systems=decision.affected_systems,
        record_count=c.record_count,
        file_count=len(decision.affected_files),
        risk=c.impact.value,
        description=decision.description,
    )
