"""Decisions that proceed on a person's learned preference: the hook the engine asks, and their metrics.

The engine knows nothing of people's answers (those live in the inbox, a layer above). It asks a
:class:`PreferenceSource`, which :class:`escalade.inbox.PreferenceModel` implements, whether a
decision it would escalate may proceed because the person it would go to has, with a stated
guarantee, approved decisions like it. The engine asks only about decisions escalated for
confidence alone: never one a rule forced, the profile or criticality forced, or one of critical
priority. A decision that proceeds this way is stored, audited and sampled like every autonomous
decision; its audit entry names the person (``auto_approved_by``) and the reason, so later outcomes
("it failed", "it should have been asked about") give :func:`preference_metrics` its audited error rate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from escalade.autonomy._audit import AuditEntry
from escalade.autonomy._decisions import Decision, Priority
from escalade.autonomy._history import DecisionRecord
from escalade.calibration import clopper_pearson_upper

if TYPE_CHECKING:
    from escalade.autonomy._engine import EscalationResult

__all__ = ["PreferenceMetrics", "PreferenceSource", "on_preference", "preference_metrics"]


class PreferenceSource(Protocol):
    """Says whether an escalated decision may proceed on ``person``'s learned preference."""

    def approval(
        self, person: str, decision: Decision, result: EscalationResult, *, workspace: str, now: datetime
    ) -> str | None:
        """The reason it may proceed (naming the person, the evidence and the bound), or ``None``: ask them."""
        ...


def on_preference(
    result: EscalationResult,
    decision: Decision,
    person: str,
    source: PreferenceSource,
    *,
    workspace: str,
    now: datetime,
) -> EscalationResult:
    """``result``, proceeding on ``person``'s learned preference when ``source`` vouches for it; unchanged
    when it proceeds anyway, or a rule, criticality or the profile forced it, or it is critical, or a
    calibration certifies no threshold for its type (that guarantee wants a person for each)."""
    forced = result.forced or result.rule_hits or result.threshold.escalate_all
    if not result.should_escalate or forced or result.priority is Priority.CRITICAL:
        return result
    reason = source.approval(person, decision, result, workspace=workspace, now=now)
    if reason is None:
        return result
    return replace(
        result,
        should_escalate=False,
        batch_eligible=False,
        autonomous_action="proceed",
        auto_approved_by=person,
        reasons=(*result.reasons, reason),
    )


@dataclass(frozen=True, kw_only=True)
class PreferenceMetrics:
    """Decisions that proceeded on a learned preference, and how often that was wrong."""

    #: Decisions that proceeded on a person's learned preference, in all and per person.
    auto_approved: int
    by_person: Mapping[str, int]
    #: Of them, those with a known label (an outcome says whether proceeding was an error), and the errors.
    with_outcome: int
    errors: int
    error_rate: float | None
    #: One-sided ``1 - delta`` Clopper–Pearson upper bound of the error rate.
    error_upper: float | None
    #: The same over the uniformly drawn audit sample only: unbiased even when failures are reported more.
    audited_sample: int
    audited_errors: int
    audited_error_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return {k: dict(v) if isinstance(v, Mapping) else v for k, v in self.__dict__.items()}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def preference_metrics(
    records: Sequence[DecisionRecord], entries: Iterable[AuditEntry], *, delta: float = 0.05
) -> PreferenceMetrics:
    """Metrics of the ``records`` that proceeded on a learned preference, as their ``entries`` (the audit
    trail, or any part of it holding their decision entries) say."""
    approved_by: dict[tuple[str, str], str] = {}
    for entry in entries:
        content = entry.content()
        payload = content.get("payload")
        if content.get("kind") == "decision" and isinstance(payload, Mapping) and payload.get("auto_approved_by"):
            approved_by[(str(content.get("workspace")), str(content.get("decision_id")))] = str(
                payload["auto_approved_by"]
            )
    mine = [r for r in records if (r.workspace, r.decision_id) in approved_by and not r.escalated]
    labelled = [(r, r.label()) for r in mine]
    known = [(r, label) for r, label in labelled if label is not None]
    errors = sum(1 for _, label in known if label)
    audited = [label for r, label in known if r.sampled]
    people = Counter(approved_by[(r.workspace, r.decision_id)] for r in mine)
    return PreferenceMetrics(
        auto_approved=len(mine),
        by_person=dict(sorted(people.items())),
        with_outcome=len(known),
        errors=errors,
        error_rate=_rate(errors, len(known)),
        error_upper=round(clopper_pearson_upper(errors, len(known), delta), 4) if known else None,
        audited_sample=len(audited),
        audited_errors=sum(audited),
        audited_error_rate=_rate(sum(audited), len(audited)),
    )
