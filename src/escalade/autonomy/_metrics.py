"""Escalation metrics from a workspace's history: rates, overrides, errors both ways, and the trend.

The escalation rate is reported twice: over all decisions, and over the decisions the confidence
threshold decided (not forced by a rule, criticality or the profile), which is close to the
rate the target-rate controller tracks.

"Positive" means *escalated*. With outcomes known:

- a **false positive** is an escalation that was not needed (the person approved it, or said so);
- a **false negative** is an action that proceeded and should not have (it failed, or a person said
  it should have been asked about);
- the **error rate among auto-approved decisions** is false negatives over auto-approved decisions
  with an outcome, with its Clopper–Pearson upper bound; the **audited** error rate uses only the
  uniformly sampled decisions, so it is unbiased even when failures are reported more often than
  successes;
- the **override rate** is the share of answered escalations where the person did not do what the
  engine recommended.

The trend fits a line to the escalation rate of consecutive windows (``scipy.stats.linregress``) and
calls it rising or falling only when the slope is significant at 5 %.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scipy.stats import linregress

from escalade.autonomy._history import DecisionRecord
from escalade.calibration import clopper_pearson_upper

__all__ = ["EscalationMetrics", "escalation_metrics"]


@dataclass(frozen=True, kw_only=True)
class EscalationMetrics:
    """See the module docstring."""

    decisions: int
    escalated: int
    escalation_rate: float
    target_rate: float | None
    by_type: Mapping[str, Mapping[str, float]]
    by_profile: Mapping[str, Mapping[str, float]]
    risk_accepted: int
    #: Escalations forced by a rule (rather than by low confidence).
    rule_forced: int
    #: Decisions the confidence threshold decided (not forced), and the share of them escalated: what the
    #: target-rate controller tracks.
    threshold_decided: int
    threshold_escalation_rate: float | None
    with_outcome: int
    answered: int
    override_rate: float | None
    false_positive_rate: float | None
    false_negative_rate: float | None
    unnecessary_share_of_escalations: float | None
    auto_approved_error_rate: float | None
    auto_approved_error_upper: float | None
    audited_error_rate: float | None
    audited_sample: int
    trend: str
    windows: Sequence[float]
    offsets: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (dict(v) if isinstance(v, Mapping) else list(v) if isinstance(v, tuple) else v)
            for k, v in self.__dict__.items()
        }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _trend(records: Sequence[DecisionRecord], windows: int) -> tuple[str, list[float]]:
    if len(records) < 2 * windows or windows < 3:
        return "insufficient_data", []
    size = len(records) // windows
    rates = [sum(r.escalated for r in records[i * size : (i + 1) * size]) / size for i in range(windows)]
    fit = linregress(range(windows), rates)
    if len(set(rates)) == 1 or fit.pvalue >= 0.05:
        return "stable", [round(r, 4) for r in rates]
    return ("increasing" if fit.slope > 0 else "decreasing"), [round(r, 4) for r in rates]


def _grouped(records: Sequence[DecisionRecord], key: str) -> dict[str, dict[str, float]]:
    totals: Counter[str] = Counter()
    escalated: Counter[str] = Counter()
    for r in records:
        name = str(getattr(r, key))
        totals[name] += 1
        escalated[name] += r.escalated
    return {
        name: {
            "decisions": totals[name],
            "escalated": escalated[name],
            "rate": round(escalated[name] / totals[name], 4),
        }
        for name in sorted(totals)
    }


def escalation_metrics(
    records: Sequence[DecisionRecord],
    *,
    target_rate: float | None = None,
    quick_response_s: float = 60.0,
    windows: int = 10,
    delta: float = 0.05,
    offsets: Mapping[str, float] | None = None,
) -> EscalationMetrics:
    """Metrics of ``records`` (oldest first)."""
    escalated = [r for r in records if r.escalated]
    free = [r for r in records if not r.forced]
    labelled = [(r, r.label()) for r in records]
    known = [(r, label) for r, label in labelled if label is not None]
    fp = sum(1 for r, label in known if r.escalated and not label)
    tp = sum(1 for r, label in known if r.escalated and label)
    fn = sum(1 for r, label in known if not r.escalated and label)
    tn = sum(1 for r, label in known if not r.escalated and not label)
    answered = [r for r in escalated if r.outcome is not None and r.outcome.response in ("approve", "reject", "modify")]
    overridden = sum(
        1 for r in answered if (r.outcome and r.outcome.response != "approve") != (r.recommendation == "reject")
    )
    unnecessary = sum(1 for r in escalated if r.verdict(quick_response_s) == "unnecessary")
    judged = sum(1 for r in escalated if r.verdict(quick_response_s) is not None)
    audited = [(r, label) for r, label in known if r.sampled and not r.escalated]
    audited_errors = sum(1 for _, label in audited if label)
    trend, rates = _trend(records, windows)
    return EscalationMetrics(
        decisions=len(records),
        escalated=len(escalated),
        escalation_rate=_rate(len(escalated), len(records)) or 0.0,
        target_rate=target_rate,
        by_type=_grouped(records, "type"),
        by_profile=_grouped(records, "profile"),
        risk_accepted=sum(1 for r in records if r.risk_accepted),
        rule_forced=sum(1 for r in escalated if r.rule_hits),
        threshold_decided=len(free),
        threshold_escalation_rate=_rate(sum(r.escalated for r in free), len(free)),
        with_outcome=len(known),
        answered=len(answered),
        override_rate=_rate(overridden, len(answered)),
        false_positive_rate=_rate(fp, fp + tn),
        false_negative_rate=_rate(fn, fn + tp),
        unnecessary_share_of_escalations=_rate(unnecessary, judged),
        auto_approved_error_rate=_rate(fn, fn + tn),
        auto_approved_error_upper=round(clopper_pearson_upper(fn, fn + tn, delta), 4) if fn + tn else None,
        audited_error_rate=_rate(audited_errors, len(audited)),
        audited_sample=len(audited),
        trend=trend,
        windows=rates,
        offsets=dict(offsets or {}),
    )
