"""Routing: the tier a task starts on, with the reasons.

:class:`Router` follows seed 002's precedence (written out in :mod:`escalade.routing._preferences`):

1. a per-request **override** names the tier and replaces everything, the bounds included;
2. otherwise the workspace's ``default_tier`` is the start when it has one (the classifier is not
   consulted); otherwise a classifier proposes a tier (the first tier when there is none);
3. triggers whose confidence reaches ``min_trigger_confidence`` raise the start to their category's
   tier (the top tier unless configured), and context analysis of the task's Python files raises it
   for high risk (the middle tier) or critical risk (the top tier), when the workspace allows
   auto-escalation;
4. the workspace bounds ``min_tier``/``max_tier`` clamp the result of 2–3.

>>> from escalade.routing._triggers import Task
>>> router = Router(Ladder.default())
>>> router.route(Task("Implement JWT authentication with OAuth2")).tier
'premium'
>>> router.route(Task("Fix a typo in the README")).tier
'cheap'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from escalade._logs import debug_content
from escalade.exceptions import ConfigError
from escalade.ladder import Ladder
from escalade.routing._classifier import Classification, CognitiveClassifier, TierClassifier
from escalade.routing._context import ContextAnalysis, ContextAnalyzer, Level
from escalade.routing._preferences import WorkspacePreferences
from escalade.routing._triggers import Task, Trigger, TriggerCategory, TriggerDetector
from escalade.routing._validation import TriggerValidation, TriggerValidator

__all__ = ["Router", "RoutingDecision"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoutingDecision:
    """Where a task starts, and why."""

    tier: str
    #: The tier's models, the workspace's preferred models first, then those of preferred providers.
    models: tuple[str, ...]
    #: How sure the router is of the start tier, in [0, 1].
    confidence: float
    reasons: tuple[str, ...]
    #: Every trigger detected, acted on or not.
    triggers: tuple[Trigger, ...] = ()
    classification: Classification | None = None
    #: Complexity, business impact and risk of the task's Python files.
    analysis: ContextAnalysis | None = None
    #: The verdict on each trigger that reached the confidence bar.
    validations: tuple[TriggerValidation, ...] = ()
    #: Whether a per-request override decided the tier.
    overridden: bool = False


@dataclass
class Router:
    """Chooses the start tier of tasks on ``ladder``."""

    ladder: Ladder
    detector: TriggerDetector = field(default_factory=TriggerDetector)
    classifier: TierClassifier | None = field(default_factory=CognitiveClassifier)
    preferences: WorkspacePreferences = field(default_factory=WorkspacePreferences)
    #: Analyses the task's Python files (contents from the task, or from disk under its root).
    analyzer: ContextAnalyzer | None = field(default_factory=ContextAnalyzer)
    #: Business rules and cost–benefit over triggers (``None``: every confident trigger escalates).
    validator: TriggerValidator | None = field(default_factory=TriggerValidator)
    #: Triggers below this confidence are reported but do not raise the tier (seed 001: 0.7).
    min_trigger_confidence: float = 0.7
    #: Tier each trigger category raises to (default: the top tier).
    trigger_tiers: Mapping[TriggerCategory, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.preferences.check(self.ladder)
        for category, name in self.trigger_tiers.items():
            if name not in self.ladder.names:
                raise ConfigError(f"trigger tier {name!r} for {category} is not on the ladder", field="trigger_tiers")
        if not 0 <= self.min_trigger_confidence <= 1:
            raise ConfigError("min_trigger_confidence must be in [0, 1]", field="min_trigger_confidence")

    def route(
        self, task: Task, workspace: WorkspacePreferences | None = None, *, override: str | None = None
    ) -> RoutingDecision:
        """The start tier of ``task`` under ``workspace`` (default: the router's preferences)."""
        prefs = workspace or self.preferences
        if workspace is not None:
            workspace.check(self.ladder)
        debug_content(logger, "route: task %r", task.description)
        triggers = self.detector.detect(task)
        analysis = self.analyzer.analyze(task, triggers) if self.analyzer is not None else None
        if override is not None:
            if override not in self.ladder.names:
                raise ConfigError(
                    f"no tier named {override!r}; tiers: {', '.join(self.ladder.names)}", field="override"
                )
            logger.debug("route: override %r replaces the routing (%d trigger(s) detected)", override, len(triggers))
            reason = (f"override: {override!r} requested",)
            return self._decision(prefs, override, 1.0, reason, triggers, None, analysis, overridden=True)
        index, confidence, reasons, classification = self._classify(task, prefs)
        confident = [t for t in triggers if t.confidence >= self.min_trigger_confidence]
        validations = tuple(
            self.validator.validate(t, task, analysis) if self.validator is not None else TriggerValidation(t, True, ())
            for t in confident
        )
        acting = [v.trigger for v in validations if v.escalate]
        vetoed = [reason for v in validations if not v.escalate for reason in v.reasons]
        if vetoed:
            reasons = [*reasons, *(f"not escalating: {reason}" for reason in vetoed)]
        if acting and prefs.auto_escalation:
            target = max(self.ladder.index_of(self.trigger_tiers.get(t.category, self.ladder.top.name)) for t in acting)
            if target > index:
                index, confidence = target, max(t.confidence for t in acting)
                reasons = [*reasons, *(t.reason for t in acting)]
        elif acting:
            reasons = [*reasons, f"auto-escalation is off: {len(acting)} trigger(s) reported only"]
        if analysis is not None and prefs.auto_escalation:
            index, confidence, reasons = self._apply_risk(analysis, index, confidence, reasons)
        weak = [t for t in triggers if t.confidence < self.min_trigger_confidence]
        if weak:
            names = ", ".join(f"{t.name} {t.confidence:.2f}" for t in weak)
            reasons.append(f"below {self.min_trigger_confidence:.2f}, not acted on: {names}")
        index, moved = prefs.clamp(self.ladder, index)
        if moved:
            logger.debug("route: workspace bounds applied: %s", moved)
            reasons.append(moved)
        tier = self.ladder[index].name
        if logger.isEnabledFor(logging.DEBUG):
            _log_route(tier, confidence, reasons, confident, acting)
        decision = self._decision(prefs, tier, confidence, tuple(reasons), triggers, classification, analysis)
        return replace(decision, validations=validations)

    def _apply_risk(
        self, analysis: ContextAnalysis, index: int, confidence: float, reasons: list[str]
    ) -> tuple[int, float, list[str]]:
        """Raise the start for high (middle tier) or critical (top tier) risk of analysed files."""
        risk = analysis.risk.level
        if risk < Level.HIGH or not (analysis.files or analysis.unparseable):
            return index, confidence, reasons
        target = len(self.ladder) - 1 if risk is Level.CRITICAL else len(self.ladder) // 2
        if target <= index:
            return index, confidence, reasons
        numbers = ", ".join(f"{k} {v:g}" for k, v in analysis.complexity.basis.items() if k != "points")
        unparseable = f", {len(analysis.unparseable)} file(s) unparseable" if analysis.unparseable else ""
        reason = f"Escalate: {risk} risk from context analysis ({numbers}{unparseable})."
        return target, max(confidence, 0.7), [*reasons, reason]

    def _classify(self, task: Task, prefs: WorkspacePreferences) -> tuple[int, float, list[str], Classification | None]:
        """The start before triggers and bounds: the workspace's default tier, else the classification."""
        if prefs.default_tier is not None:
            start = prefs.default_tier
            return (
                self.ladder.index_of(start),
                0.5,
                [f"workspace default tier {start!r} (ahead of classification)"],
                None,
            )
        if self.classifier is None:
            start = self.ladder[0].name
            return 0, 0.5, [f"no classifier: first tier {start!r}"], None
        classification = self.classifier.classify(task.description, tiers=len(self.ladder))
        reasons = [f"classified {self.ladder[classification.rank].name!r}: {'; '.join(classification.reasons)}"]
        return classification.rank, classification.confidence, reasons, classification

    def _decision(
        self,
        prefs: WorkspacePreferences,
        tier: str,
        confidence: float,
        reasons: tuple[str, ...],
        triggers: tuple[Trigger, ...],
        classification: Classification | None,
        analysis: ContextAnalysis | None,
        *,
        overridden: bool = False,
    ) -> RoutingDecision:
        return RoutingDecision(
            tier=tier,
            models=prefs.models_for(self.ladder, tier),
            confidence=round(confidence, 4),
            reasons=reasons,
            triggers=triggers,
            classification=classification,
            analysis=analysis,
            overridden=overridden,
        )


def _log_route(
    tier: str, confidence: float, reasons: list[str], confident: list[Trigger], acting: list[Trigger]
) -> None:
    """The decision at debug: the start tier, the triggers that reached the bar (vetoed or not), every reason."""
    fired = ", ".join(f"{t.name} {t.confidence:.2f}{'' if t in acting else ' (vetoed)'}" for t in confident)
    logger.debug(
        "route: start tier %r (confidence %.2f); triggers fired: %s; reasons: %s",
        tier,
        confidence,
        fired or "none",
        "; ".join(reasons),
    )
