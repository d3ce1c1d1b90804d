"""The EscalationEngine: rules, classification and the controller combined into one answer.

``evaluate(decision, context)`` escalates a decision when any of these holds, and lists every one
that did in ``reasons``:

1. the profile is ``manual``;
2. a rule fired at or above the profile's rule floor (a **critical** rule always counts);
3. the decision's criticality is above the profile's limit (0.9 by default, as in seed 004);
4. a stored calibration certifies no threshold for the decision's type (the guarantee wins);
5. the controller's confidence is below the threshold needed (profile + learned + rate offset, never
   below the certified floor), unless the decision is low-stakes (importance under 0.3, reversible,
   no rule fired), within the profile's ``risk_margin`` of the threshold and above the floor: then it
   proceeds with ``risk_accepted``.

A decision escalated for confidence alone (no rule, criticality or profile forced it, and not of
critical priority) may still proceed when ``evaluate(..., person=NAME)`` names the person it would
go to and the engine's ``preferences`` (:class:`~escalade.autonomy._preferences.PreferenceSource`)
vouch that this person approves decisions like it: ``auto_approved_by`` names them and the last
reason says on what evidence. The rate controller still counts it as the threshold's escalation.

Each decision is stored with its audit entry in one step, then the target-rate controller takes its
update. ``record_outcome`` attaches what happened, appends it to the audit trail and lets the
thresholds learn (:mod:`escalade.autonomy._thresholds`).

>>> engine = EscalationEngine()
>>> engine.evaluate({"id": "d1", "description": "Deploy v2.3", "environment": "production"}).should_escalate
True
>>> engine.evaluate({"id": "d2", "description": "Fix a typo in the README"}).should_escalate
False
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from escalade._logs import debug_content
from escalade.autonomy._classify import Classification, DecisionClassifier
from escalade.autonomy._controller import AutonomyController, ConfidenceFactor
from escalade.autonomy._decisions import Decision, DecisionContext, DecisionType, Priority, parse_decision
from escalade.autonomy._history import (
    AuditDraft,
    AutonomyStore,
    CalibrationRecord,
    DecisionRecord,
    Outcome,
    Recommendation,
    TypeStats,
    Verdict,
)
from escalade.autonomy._memory import MemoryAutonomyStore
from escalade.autonomy._preferences import PreferenceSource, on_preference
from escalade.autonomy._profiles import DEFAULT_PROFILE, PROFILES, AutomationProfile
from escalade.autonomy._rules import RuleHit, RuleSet
from escalade.autonomy._thresholds import Labelled, Learning, RateControl, Threshold, certify_floors, labelled_from
from escalade.exceptions import ConfigError, DecisionError

__all__ = ["EscalationEngine", "EscalationResult", "OutcomeResult"]

logger = logging.getLogger(__name__)

#: Low-stakes decisions below this importance may proceed within the profile's risk margin.
LOW_STAKES_IMPORTANCE = 0.3


@dataclass(frozen=True, kw_only=True)
class EscalationResult:
    """The engine's answer for one decision, with everything that led to it."""

    decision_id: str
    should_escalate: bool
    confidence: float
    priority: Priority
    #: Escalated and may wait for a batch of questions.
    batch_eligible: bool
    reasons: tuple[str, ...]
    #: Rules that fired and forced escalation.
    rule_hits: tuple[str, ...]
    #: Rules that fired below the profile's rule floor (reported, not forcing).
    advisory_rules: tuple[str, ...]
    #: Escalated whatever the confidence: the profile, a rule or criticality asked (not the calibration).
    forced: bool
    #: ``"proceed"`` when the action goes ahead without a person.
    autonomous_action: str | None
    #: It proceeds although its confidence is below the threshold (low stakes, within the margin).
    risk_accepted: bool
    #: What the engine suggests a person answers, for an escalated decision.
    recommendation: Recommendation
    type: DecisionType
    profile: str
    threshold: Threshold
    classification: Classification
    factors: Mapping[str, ConfidenceFactor]
    unusual: tuple[str, ...]
    #: Drawn for the audit sample: a person should check its outcome, whatever was decided.
    audit_sampled: bool
    audit_seq: int | None
    #: The person on whose learned preference it proceeds instead of waiting for them (the last reason says why).
    auto_approved_by: str | None = None

    def to_line(self) -> dict[str, Any]:
        """The one-line JSON answer of ``escalade decide`` (``auto_approved_by`` only when set)."""
        line = {
            "id": self.decision_id,
            "escalate": self.should_escalate,
            "confidence": self.confidence,
            "priority": self.priority.value,
            "type": self.type.value,
            "reasons": list(self.reasons),
            "rule_hits": list(self.rule_hits),
        }
        return line | ({"auto_approved_by": self.auto_approved_by} if self.auto_approved_by else {})

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready."""
        return {
            **self.to_line(),
            "batch_eligible": self.batch_eligible,
            "advisory_rules": list(self.advisory_rules),
            "forced": self.forced,
            "autonomous_action": self.autonomous_action,
            "risk_accepted": self.risk_accepted,
            "recommendation": self.recommendation,
            "profile": self.profile,
            "threshold": self.threshold.to_dict(),
            "factors": {n: f.to_dict() for n, f in self.factors.items()},
            "classification": self.classification.to_dict(),
            "unusual": list(self.unusual),
            "audit_sampled": self.audit_sampled,
            "audit_seq": self.audit_seq,
        }


@dataclass(frozen=True, kw_only=True)
class OutcomeResult:
    """What recording an outcome did."""

    record: DecisionRecord
    verdict: Verdict | None
    #: The type's new learned offset, when the outcome moved it.
    learned_offset: float | None


def _profiles(given: Mapping[str, AutomationProfile] | None) -> Mapping[str, AutomationProfile]:
    return given if given is not None else PROFILES


class EscalationEngine:
    """Decides whether an agent's action proceeds or waits for a person (see the module docstring)."""

    def __init__(
        self,
        store: AutonomyStore | None = None,
        *,
        profile: str | AutomationProfile = DEFAULT_PROFILE,
        profiles: Mapping[str, AutomationProfile] | None = None,
        rules: RuleSet | None = None,
        controller: AutonomyController | None = None,
        rate: RateControl | None = None,
        learning: Learning | None = None,
        audit_rate: float = 0.05,
        unusual_after: int = 30,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] | None = None,
        preferences: PreferenceSource | None = None,
    ) -> None:
        if not (isinstance(audit_rate, int | float) and 0 <= audit_rate <= 1):
            raise ConfigError(f"audit_rate must be in [0, 1], got {audit_rate}", field="audit_rate")
        self.store: AutonomyStore = store or (controller.store if controller else MemoryAutonomyStore())
        self.profiles = _profiles(profiles)
        self.profile = self._profile(profile)
        self.rules = rules or RuleSet.builtin()
        self.controller = controller or AutonomyController(self.store)
        self.classifier: DecisionClassifier = self.controller.classifier
        self.rate = rate if rate is not None else RateControl()
        self.learning = learning if learning is not None else Learning()
        self.audit_rate = audit_rate
        self.unusual_after = unusual_after
        self._rng = rng or random.Random()
        self._clock = clock or (lambda: datetime.now(UTC))
        self.preferences = preferences

    def _profile(self, profile: str | AutomationProfile | None) -> AutomationProfile:
        if profile is None:
            return self.profile
        if isinstance(profile, AutomationProfile):
            return profile
        if profile not in self.profiles:
            raise ConfigError(f"unknown profile {profile!r}; use {', '.join(self.profiles)}", field="profile")
        return self.profiles[profile]

    def _rate_controls(self, profile: AutomationProfile) -> bool:
        return self.rate.enabled and profile.rate_control and not profile.manual

    def evaluate(
        self,
        decision: Decision | Mapping[str, Any],
        context: DecisionContext | None = None,
        *,
        profile: str | AutomationProfile | None = None,
        person: str | None = None,
    ) -> EscalationResult:
        """Decide, store the decision with its audit entry, and update the rate controller (``person``: who
        would answer it, whose learned preference may let it proceed; see the module docstring)."""
        if person is not None and self.preferences is None:
            raise ConfigError("a person's preferences need an engine made with preferences=", field="person")
        parsed = parse_decision(decision)
        context = context or DecisionContext()
        chosen = self._profile(profile)
        decision_id = parsed.id or uuid.uuid4().hex[:16]
        if self.store.get_decision(context.workspace, decision_id) is not None:
            raise DecisionError("this id was already decided in this workspace", decision_id=decision_id, field="id")
        result = self._judge(parsed, decision_id, context, chosen)
        at = context.now or self._clock()
        threshold_escalated = result.should_escalate
        if person is not None and self.preferences is not None:
            result = on_preference(result, parsed, person, self.preferences, workspace=context.workspace, now=at)
        record = DecisionRecord(
            workspace=context.workspace,
            decision_id=decision_id,
            at=at,
            agent=context.agent,
            profile=chosen.name,
            type=result.type.value,
            environment=result.classification.environment.value if result.classification.environment else None,
            escalated=result.should_escalate,
            risk_accepted=result.risk_accepted,
            confidence=result.confidence,
            threshold=result.threshold.value,
            priority=result.priority.value,
            rule_hits=result.rule_hits,
            forced=result.forced,
            recommendation=result.recommendation,
            affected_files=parsed.affected_files,
            affected_systems=parsed.affected_systems,
            record_count=result.classification.record_count,
            estimated_cost=result.classification.estimated_cost,
            sampled=result.audit_sampled,
        )
        payload = {
            "decision": parsed.stated(),
            "context": {"agent": context.agent, "workflow_id": context.workflow_id},
            **{k: v for k, v in result.to_dict().items() if k not in ("id", "audit_seq")},
        }
        stored = self.store.add_decision(
            record,
            AuditDraft(at=at, kind="decision", workspace=context.workspace, decision_id=decision_id, payload=payload),
        )
        if self._rate_controls(chosen) and not result.forced and not result.threshold.escalate_all:
            self.rate.update(self.store, context.workspace, chosen.name, threshold_escalated)
        return replace(result, audit_seq=stored.audit_seq)

    def _judge(
        self, decision: Decision, decision_id: str, context: DecisionContext, profile: AutomationProfile
    ) -> EscalationResult:
        debug_content(logger, "decision %s: %r", decision_id, decision.description)
        c = self.classifier.classify(decision)
        stats = self.store.type_stats(context.workspace, c.type.value)
        unusual = self._unusual(c, stats, self.store.decision_count(context.workspace))
        factors = self.controller.factors(decision, context, c)
        confidence = self.controller.confidence(factors)
        hits = self.rules.evaluate(_facts(decision, c, confidence, bool(unusual), context))
        forced = [h for h in hits if h.priority >= profile.rule_floor or h.priority is Priority.CRITICAL]
        advisory = [h for h in hits if h not in forced]
        threshold = Threshold.combine(
            profile=profile.threshold(c.type, read_only=c.read_only),
            offsets=self.store.offsets(context.workspace),
            decision_type=c.type.value,
            rate_key=self.rate.key(profile.name) if self._rate_controls(profile) else None,
            calibration=self.store.calibration(context.workspace),
        )
        reasons = self._reasons(profile, forced, c)
        # Forced: no threshold could let it proceed. An escalation the calibration holds is not forced:
        # its label is what a later calibration needs to certify the type.
        forced_escalation = bool(reasons)
        if threshold.escalate_all:
            reasons.append(
                f"calibration {threshold.calibration_id} certifies no confidence threshold for {c.type.value} "
                "decisions: the error guarantee needs a person for each"
            )
        risk_accepted = False
        if confidence < threshold.value:
            low_stakes = c.importance < LOW_STAKES_IMPORTANCE and c.reversible and not hits
            within = confidence >= threshold.value - profile.risk_margin and (
                threshold.floor is None or confidence >= threshold.floor
            )
            if not reasons and low_stakes and within:
                risk_accepted = True
            else:
                weakest = min(factors.items(), key=lambda kv: _support(kv[0], kv[1].value))
                reasons.append(
                    f"confidence {confidence:.2f} < {threshold.value:.2f} needed ({threshold.describe()}); "
                    f"weakest factor: {weakest[0]} {weakest[1].value:.2f} ({weakest[1].detail})"
                )
        escalate = bool(reasons)
        priority = max([c.priority, *(h.priority for h in forced)])
        logger.debug(
            "decision %s (%s, profile %s): %s; confidence %.2f, threshold %.2f; rules %s; reasons: %s",
            decision_id,
            c.type.value,
            profile.name,
            "escalate" if escalate else "proceed, risk accepted" if risk_accepted else "proceed",
            confidence,
            threshold.value,
            ", ".join(h.name for h in hits) or "none",
            "; ".join(reasons) or "none",
        )
        return EscalationResult(
            decision_id=decision_id,
            should_escalate=escalate,
            confidence=confidence,
            priority=priority,
            batch_eligible=escalate and c.batchable and priority is not Priority.CRITICAL,
            reasons=tuple(reasons),
            rule_hits=tuple(h.name for h in forced),
            forced=forced_escalation,
            advisory_rules=tuple(h.name for h in advisory),
            autonomous_action=None if escalate else "proceed",
            risk_accepted=risk_accepted,
            recommendation="approve" if confidence >= 0.5 else "reject",
            type=c.type,
            profile=profile.name,
            threshold=threshold,
            classification=c,
            factors=factors,
            unusual=tuple(unusual),
            audit_sampled=self._rng.random() < self.audit_rate,
            audit_seq=None,
        )

    @staticmethod
    def _reasons(profile: AutomationProfile, forced: list[RuleHit], c: Classification) -> list[str]:
        reasons: list[str] = []
        if profile.manual:
            reasons.append(f"profile {profile.name}: every action waits for a person")
        reasons += [f"rule {h.name} ({h.priority.value}): {h.reason}" for h in forced]
        limit = profile.escalate_criticality_above
        if limit is not None and c.criticality > limit:
            shown = ", ".join(f"{k} {v:g}" for k, v in c.criticality_factors.items())
            reasons.append(f"criticality {c.criticality:.2f} > {limit:g} ({shown})")
        return reasons

    def _unusual(self, c: Classification, stats: TypeStats, total: int) -> list[str]:
        """Why the decision is unlike this workspace's history (nothing until there is enough history)."""
        if total < self.unusual_after:
            return []
        found = []
        if stats.decisions == 0:
            found.append(f"first {c.type.value} decision in {total}")
        elif c.environment is not None and stats.by_environment.get(c.environment.value, 0) < 2:
            found.append(
                f"{c.type.value} in {c.environment.value} seen {stats.by_environment.get(c.environment.value, 0)} times"
            )
        if stats.max_record_count and c.record_count > 3 * stats.max_record_count:
            found.append(f"{c.record_count:,} records, over 3x the most seen ({stats.max_record_count:,})")
        if stats.max_estimated_cost and c.estimated_cost > 3 * stats.max_estimated_cost:
            found.append(f"cost ${c.estimated_cost:,.2f}, over 3x the most seen (${stats.max_estimated_cost:,.2f})")
        return found

    def record_outcome(
        self, decision_id: str, outcome: Outcome, *, workspace: str = "default", at: datetime | None = None
    ) -> OutcomeResult:
        """Attach what happened to a decision, audit it, and learn from it."""
        record = self.store.get_decision(workspace, decision_id)
        if record is None:
            raise DecisionError(
                f"no decision with this id in workspace {workspace!r}", decision_id=decision_id, field="id"
            )
        when = at or self._clock()
        provisional = replace(record, outcome=outcome)
        verdict = provisional.verdict(self.learning.quick_response_s)
        payload = {"outcome": outcome.to_dict(), "label": provisional.label(), "verdict": verdict}
        stored = self.store.set_outcome(
            workspace,
            decision_id,
            outcome,
            when,
            AuditDraft(at=when, kind="outcome", workspace=workspace, decision_id=decision_id, payload=payload),
        )
        verdict, offset = self.learning.learn(self.store, stored)
        logger.debug("outcome of decision %s recorded: verdict %s, learned offset %s", decision_id, verdict, offset)
        return OutcomeResult(record=stored, verdict=verdict, learned_offset=offset)

    def calibrate(
        self,
        *,
        alpha: float,
        delta: float,
        workspace: str = "default",
        sampled_only: bool = True,
        labelled: Iterable[Labelled] | None = None,
        pooled: bool = False,
    ) -> CalibrationRecord:
        """Certify floors from the workspace's labelled decisions (or ``labelled``), store and audit them.

        Too few labels to certify anything is a :class:`~escalade.exceptions.NotEnoughLabelsError`
        saying how many are needed, and nothing is stored.
        """
        items = (
            list(labelled)
            if labelled is not None
            else labelled_from(self.store.decisions(workspace), sampled_only=sampled_only)
        )
        record = certify_floors(items, alpha=alpha, delta=delta, pooled=pooled)
        self.store.save_calibration(
            workspace,
            record,
            AuditDraft(
                at=self._clock(), kind="calibration", workspace=workspace, decision_id=None, payload=record.to_dict()
            ),
        )
        logger.info("calibration %s of workspace %r stored (%d labelled decisions)", record.id, workspace, len(items))
        return record

    def calibrations(self, workspace: str = "default") -> list[CalibrationRecord]:
        """The workspace's calibrations, the one in force (the newest) first."""
        return self.store.calibrations(workspace)

    def remove_calibration(self, calibration_id: str, *, workspace: str = "default") -> CalibrationRecord:
        """Remove a calibration, auditing it; the previous one (if any) is in force again.

        An unknown id is a :class:`~escalade.exceptions.CalibrationNotFoundError` and changes nothing.
        """
        audit = AuditDraft(
            at=self._clock(),
            kind="calibration_removed",
            workspace=workspace,
            decision_id=None,
            payload={"id": calibration_id},
        )
        return self.store.remove_calibration(workspace, calibration_id, audit)

    def preview(
        self,
        decision: Decision | Mapping[str, Any],
        context: DecisionContext | None = None,
        *,
        profile: str | AutomationProfile | None = None,
    ) -> EscalationResult:
        """What :meth:`evaluate` would answer now, without storing, auditing or learning anything."""
        parsed = parse_decision(decision)
        return self._judge(parsed, parsed.id or "preview", context or DecisionContext(), self._profile(profile))


def _support(name: str, value: float) -> float:
    """How much a factor supports proceeding (risk and complexity inverted)."""
    return value if name in ("past_success_rate", "familiarity") else 1 - value


def _facts(
    decision: Decision, c: Classification, confidence: float, unusual: bool, context: DecisionContext
) -> dict[str, Any]:
    """What rules can test (see :data:`escalade.autonomy._rules.RULE_FIELDS`)."""
    return {
        "type": c.type.value,
        "described_type": (c.described_type or c.type).value,
        "environment": c.environment.value if c.environment else None,
        "scope": c.scope.value,
        "involves_data_deletion": c.deletion,
        "record_count": c.record_count if c.sources.get("record_count") != "default" else None,
        "estimated_cost": c.estimated_cost,
        "breaking_change": c.breaking_change,
        "affects_compliance": c.affects_compliance,
        "performance_impact": c.performance_impact,
        "reversible": c.reversible,
        "security_sensitive": c.security_sensitive,
        "read_only": c.read_only,
        "money": c.money,
        "urgent": c.urgent,
        "criticality": c.criticality,
        "importance": c.importance,
        "impact": c.impact.value,
        "priority": c.priority.value,
        "category": c.category,
        "confidence": confidence,
        "is_unusual": unusual,
        "affected_files": list(decision.affected_files),
        "affected_systems": list(decision.affected_systems),
        "file_count": len(decision.affected_files),
        "system_count": len(decision.affected_systems),
        "description": decision.description,
        "agent": context.agent,
        "workspace": context.workspace,
    }
