"""Decision classification: what a decision is, how critical and important, and who should see it when.

:class:`DecisionClassifier` reads the stated fields and the description (see
:mod:`escalade.autonomy._lexicon`) and returns a :class:`Classification`. A field the caller did not
state is inferred from the description and marked ``inferred`` in ``sources``, with the words that
showed it in ``evidence``; a stated field is never overridden.

- **type**: cue scores per type; a cue at the start of the sentence (the verb of an imperative) or
  right after "to" counts 1.5×; file paths add hints. Ties go to the riskier type.
- **criticality** (seed 004): the weighted mean of the factors present: production (0.9, weight
  0.3), security (1.0, 0.25), financial (cost / $10,000, 0.2; from $100), data loss (0.95, 0.15),
  compliance (0.85, 0.1); 0.3 when none is present.
- **importance**: the criticality factors, scope, breaking change, irreversibility, systems and records
  affected, money and slow-down, combined (noisy-OR) so that adding a factor never lowers it. The
  seed's weighted mean can drop when a milder factor joins a severe one (production 0.9 with
  compliance 0.85 gives 0.89); importance, risk and the rules never do.
- **category**: strategic, tactical or mixed from the seed's weighted indicators (the ones that
  fired are listed); strategic when its score is over 1.5× the tactical one, and the reverse.
- **priority**: critical (criticality over 0.9 or importance from 0.85), high, medium or low.
- **batchable**: can wait for a batch of questions unless urgent or critical.

>>> c = DecisionClassifier().classify(Decision(description="Purge 25,000 user records older than a year"))
>>> c.type, c.deletion, c.record_count, c.sources["deletion"]
(<DecisionType.DATA: 'data'>, True, 25000, 'inferred')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from escalade.autonomy._decisions import Decision, DecisionType, Environment, Priority, Scope
from escalade.autonomy._lexicon import (
    BREAKING_CUES,
    COMPLIANCE_CUES,
    COSMETIC_CUES,
    DATA_OBJECTS,
    DELETION_VERBS,
    ENVIRONMENT_CUES,
    FAKE_DATA_WORDS,
    IRREVERSIBLE_CUES,
    MONEY_CUES,
    MUTATING_CUES,
    NO_CHANGE_CUES,
    NOT_DATA_OBJECTS,
    PATH_CUES,
    READ_ONLY_MODES,
    READ_ONLY_NAMES,
    READ_ONLY_VERBS,
    SCOPE_CUES,
    STRATEGIC_TEXT_CUES,
    STRONG_DELETION_VERBS,
    TACTICAL_TEXT_CUES,
    TYPE_CUES,
    URGENT_CUES,
    WEAK_SECURITY_CUES,
)
from escalade.autonomy._text import Cue, Words, count_of_records, money_of, percent_slower_of

__all__ = ["CRITICALITY_WEIGHTS", "Category", "Classification", "DecisionClassifier", "impact_level"]

Category = Literal["strategic", "tactical", "mixed"]
Source = Literal["stated", "inferred", "default"]
T = TypeVar("T")

#: Seed 004's criticality factors: (score, weight).
CRITICALITY_WEIGHTS: Mapping[str, float] = {
    "production": 0.3,
    "security": 0.25,
    "financial": 0.2,
    "data_loss": 0.15,
    "compliance": 0.1,
}
_NO_CRITICALITY = 0.3
#: Riskier first: breaks ties between types with the same score.
_TYPE_ORDER = (
    DecisionType.SECURITY,
    DecisionType.DATA,
    DecisionType.DEPLOYMENT,
    DecisionType.ARCHITECTURE,
    DecisionType.RESOURCE,
    DecisionType.INTEGRATION,
    DecisionType.CONFIGURATION,
    DecisionType.FIX,
    DecisionType.MAINTENANCE,
)
#: What the kind of action alone says about its importance.
_TYPE_IMPORTANCE = {
    DecisionType.SECURITY: 0.3,
    DecisionType.DATA: 0.3,
    DecisionType.ARCHITECTURE: 0.3,
    DecisionType.DEPLOYMENT: 0.25,
    DecisionType.RESOURCE: 0.15,
    DecisionType.INTEGRATION: 0.15,
    DecisionType.CONFIGURATION: 0.1,
    DecisionType.FIX: 0.05,
    DecisionType.GENERAL: 0.05,
    DecisionType.MAINTENANCE: 0.0,
}
_ENV_ORDER = (Environment.PRODUCTION, Environment.STAGING, Environment.DEVELOPMENT)
_STRATEGIC_WEIGHTS = {
    "long_term_impact": 0.2,
    "cross_system": 0.15,
    "architecture_change": 0.2,
    "breaking_change": 0.15,
    "policy_change": 0.1,
    "resource_allocation": 0.1,
    "stakeholder_impact": 0.1,
}
_TACTICAL_WEIGHTS = {
    "bug_fix": 0.2,
    "routine_maintenance": 0.15,
    "configuration": 0.15,
    "short_term": 0.15,
    "single_component": 0.1,
    "performance_tweak": 0.1,
    "reversible": 0.15,
}


def impact_level(importance: float) -> Priority:
    """The impact of a decision as a level: critical from 0.85, high from 0.6, medium from 0.3."""
    if importance >= 0.85:
        return Priority.CRITICAL
    if importance >= 0.6:
        return Priority.HIGH
    if importance >= 0.3:
        return Priority.MEDIUM
    return Priority.LOW


def _noisy_or(parts: Iterable[float]) -> float:
    doubt = 1.0
    for p in parts:
        doubt *= 1.0 - min(max(p, 0.0), 1.0)
    return 1.0 - doubt


@dataclass(frozen=True, kw_only=True)
class Classification:
    """What the classifier found; ``sources`` says for each resolved field whether it was stated or inferred."""

    type: DecisionType
    #: Cue score of every type that scored.
    type_scores: Mapping[str, float]
    environment: Environment | None
    scope: Scope
    deletion: bool
    record_count: int
    estimated_cost: float
    breaking_change: bool
    affects_compliance: bool
    performance_impact: float
    reversible: bool
    #: A strong security cue (credentials, crypto, permissions, vulnerabilities) is present.
    security_sensitive: bool
    #: The action only looks (a scan, a review, a dry run): it changes nothing.
    read_only: bool
    #: Money flows through what it touches (payments, invoices, billing).
    money: bool
    urgent: bool
    criticality: float
    #: The criticality factors present, with their scores.
    criticality_factors: Mapping[str, float]
    importance: float
    impact: Priority
    category: Category
    strategic_indicators: tuple[str, ...]
    tactical_indicators: tuple[str, ...]
    batchable: bool
    #: Why it cannot wait for a batch (empty when batchable).
    batch_blockers: tuple[str, ...]
    priority: Priority
    sources: Mapping[str, Source] = field(default_factory=dict)
    #: The words that showed each inferred field.
    evidence: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The type the description reads as, whatever type was stated (rules check both).
    described_type: DecisionType | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "type": self.type.value,
            "described_type": (self.described_type or self.type).value,
            "type_scores": dict(self.type_scores),
            "environment": self.environment.value if self.environment else None,
            "scope": self.scope.value,
            "deletion": self.deletion,
            "record_count": self.record_count,
            "estimated_cost": self.estimated_cost,
            "breaking_change": self.breaking_change,
            "affects_compliance": self.affects_compliance,
            "performance_impact": self.performance_impact,
            "reversible": self.reversible,
            "security_sensitive": self.security_sensitive,
            "read_only": self.read_only,
            "money": self.money,
            "urgent": self.urgent,
            "criticality": self.criticality,
            "criticality_factors": dict(self.criticality_factors),
            "importance": self.importance,
            "impact": self.impact.value,
            "category": self.category,
            "strategic_indicators": list(self.strategic_indicators),
            "tactical_indicators": list(self.tactical_indicators),
            "batchable": self.batchable,
            "batch_blockers": list(self.batch_blockers),
            "priority": self.priority.value,
            "sources": dict(self.sources),
            "evidence": {k: list(v) for k, v in self.evidence.items()},
        }


class _Resolver:
    """Resolves fields: stated wins, else inferred (with its evidence), else the default; records which."""

    def __init__(self) -> None:
        self.sources: dict[str, Source] = {}
        self.evidence: dict[str, tuple[str, ...]] = {}

    def __call__(self, name: str, stated: T | None, inferred: T | None, found: Iterable[str], default: T) -> T:
        if stated is not None:
            self.sources[name] = "stated"
            return stated
        if inferred is not None:
            self.sources[name] = "inferred"
            shown = tuple(found)
            if shown:
                self.evidence[name] = shown
            return inferred
        self.sources[name] = "default"
        return default


def _matched(cues: Iterable[Cue], words: Words) -> list[Cue]:
    return [cue for cue in cues if cue.find(words) is not None]


def _verb_position(words: Words, start: int) -> bool:
    return start <= 1 or words.raw[start - 1] in {"to", "will", "please", "should", "must", "we", "i", "agent"}


#: Words that end the object of a verb ("delete old rows *from* events").
_PHRASE_END = frozenset(
    [
        "from",
        "in",
        "on",
        "for",
        "to",
        "with",
        "by",
        "at",
        "of",
        "via",
        "using",
        "older",
        "newer",
        "than",
        "that",
        "which",
        "who",
        "where",
        "when",
        "if",
        "because",
        "since",
        "after",
        "before",
        "and",
        "or",
        "but",
        "so",
        "then",
        "unless",
        "until",
        "while",
        "per",
        "across",
        "into",
        "onto",
        "over",
        "under",
    ]
)


def _object_phrase(words: Words, verb_end: int) -> range:
    """Positions of the object after a verb: up to six words, ending before a preposition or conjunction."""
    stop = verb_end + 1
    while stop < len(words) and stop - verb_end <= 6 and words.raw[stop] not in _PHRASE_END:
        stop += 1
    return range(verb_end + 1, stop)


def _at(cues: Iterable[Cue], words: Words, i: int, phrase: range) -> bool:
    return any(cue.match_at(words, i) == i + len(cue.parts) - 1 < phrase.stop for cue in cues)


def _object_kind(words: Words, phrase: range) -> bool | None:
    """True if the object is real data, False if it is something else (a cache, an index, test data), else None.

    The last word of the object decides ("the unused users *table*" is data, "the unused *index*" is
    not); data qualified as fake ("test users", "dummy rows") is not real data.
    """
    if not phrase:
        return None
    head = phrase.stop - 1
    fake = any(_at(FAKE_DATA_WORDS, words, i, phrase) for i in phrase)
    if _at(DATA_OBJECTS, words, head, phrase):
        return not fake
    if any(_at(NOT_DATA_OBJECTS, words, i, phrase) for i in phrase):
        return False
    if any(_at(DATA_OBJECTS, words, i, phrase) for i in phrase):
        return not fake
    return None


class DecisionClassifier:
    """Classifies decisions (see the module docstring); stateless and safe to share."""

    def classify(self, decision: Decision) -> Classification:
        words = Words.of(decision.description)
        pick = _Resolver()
        scores, security_strength, type_found = self._type_scores(decision, words)
        inferred_type = self._best_type(scores)
        decision_type = pick(
            "type", decision.type, inferred_type, type_found.get(inferred_type, ()), DecisionType.GENERAL
        )
        env_found = self._environment(words)
        environment = pick("environment", decision.environment, env_found[0], env_found[1], None)
        read_only_found = self._read_only(words)
        read_only = pick("read_only", None, True if read_only_found else None, read_only_found, False)
        # an action that changes nothing deletes, breaks and commits nothing (unless the caller says so)
        deletion_found = [] if read_only else self._deletion(words)
        deletion = pick(
            "deletion", decision.involves_data_deletion, True if deletion_found else None, deletion_found, False
        )
        text = decision.description
        records = pick("record_count", decision.record_count, count_of_records(text), (), 0)
        cost = pick("estimated_cost", decision.estimated_cost, money_of(text), (), 0.0)
        slower = pick("performance_impact", decision.performance_impact, percent_slower_of(text), (), 0.0)
        breaking_found = [] if read_only else [c.phrase for c in _matched(BREAKING_CUES, words)]
        breaking = pick(
            "breaking_change", decision.breaking_change, True if breaking_found else None, breaking_found, False
        )
        compliance_found = [] if read_only else [c.phrase for c in _matched(COMPLIANCE_CUES, words)]
        compliance = pick(
            "affects_compliance",
            decision.affects_compliance,
            True if compliance_found else None,
            compliance_found,
            False,
        )
        scope_found = self._scope(decision, words)
        scope = pick("scope", decision.scope, scope_found[0], scope_found[1], Scope.COMPONENT)
        irreversible_found = [] if read_only else [c.phrase for c in _matched(IRREVERSIBLE_CUES, words)]
        if deletion and not any(w in words.stems for w in ("backup", "archiv", "soft", "recycl", "trash")):
            irreversible_found.append("deletes data")
        reversible = pick(
            "reversible", decision.reversible, False if irreversible_found else None, irreversible_found, True
        )
        sources, evidence = pick.sources, pick.evidence
        security = not read_only and (decision_type is DecisionType.SECURITY or security_strength >= 0.8)
        money_found = [] if read_only else [c.phrase for c in _matched(MONEY_CUES, words)]
        if money_found:
            evidence["money"] = tuple(money_found)
        urgent_found = [c.phrase for c in _matched(URGENT_CUES, words)]
        if urgent_found:
            evidence["urgent"] = tuple(urgent_found)
        factors = self._criticality_factors(None if read_only else environment, security, cost, deletion, compliance)
        weight = sum(CRITICALITY_WEIGHTS[name] for name in factors)
        criticality = round(
            sum(CRITICALITY_WEIGHTS[name] * score for name, score in factors.items()) / weight
            if factors
            else _NO_CRITICALITY,
            4,
        )
        strategic, tactical = self._indicators(decision, decision_type, words, scope, breaking, reversible, compliance)
        s_score = sum(_STRATEGIC_WEIGHTS[n] for n in strategic)
        t_score = sum(_TACTICAL_WEIGHTS[n] for n in tactical)
        category: Category = (
            "strategic" if s_score > 1.5 * t_score else "tactical" if t_score > 1.5 * s_score else "mixed"
        )
        importance = _noisy_or(
            [
                *(0.7 * score for score in factors.values()),  # each factor, so adding one never lowers it
                {Scope.SYSTEM_WIDE: 0.6, Scope.COMPONENT: 0.2, Scope.LOCAL: 0.0}[scope],
                0.6 if breaking else 0.0,
                0.0 if reversible else 0.5,
                min(0.15 * (len(decision.affected_systems) - 1), 0.45),
                min(math.log10(records + 1) / 6, 1.0) * 0.5,
                min(cost / 1000, 1.0) * 0.5,
                min(-slower / 50, 1.0) * 0.5 if slower < 0 else 0.0,
                {"strategic": 0.4, "mixed": 0.1, "tactical": 0.0}[category],
                _TYPE_IMPORTANCE[decision_type],
                0.25 if money_found else 0.0,
            ]
        )
        importance = round(importance, 4)
        priority = self._priority(criticality, importance)
        blockers = tuple(
            reason
            for reason, blocked in (
                ("urgent", bool(urgent_found)),
                ("critical priority", priority is Priority.CRITICAL),
            )
            if blocked
        )
        return Classification(
            type=decision_type,
            type_scores={t.value: round(s, 3) for t, s in scores.items() if s > 0},
            environment=environment,
            scope=scope,
            deletion=deletion,
            record_count=records,
            estimated_cost=cost,
            breaking_change=breaking,
            affects_compliance=compliance,
            performance_impact=slower,
            reversible=reversible,
            security_sensitive=security,
            urgent=bool(urgent_found),
            read_only=read_only,
            money=bool(money_found),
            criticality=criticality,
            criticality_factors=factors,
            importance=importance,
            impact=impact_level(importance),
            category=category,
            strategic_indicators=strategic,
            tactical_indicators=tactical,
            batchable=not blockers,
            batch_blockers=blockers,
            priority=priority,
            sources=sources,
            evidence=evidence,
            described_type=inferred_type,
        )

    @staticmethod
    def _type_scores(
        decision: Decision, words: Words
    ) -> tuple[dict[DecisionType, float], float, dict[DecisionType, list[str]]]:
        scores: dict[DecisionType, float] = {}
        found: dict[DecisionType, list[str]] = {}
        cosmetic = bool(_matched(COSMETIC_CUES, words))
        security_strength = 0.0
        for decision_type, cues in TYPE_CUES.items():
            total = 0.0
            for cue in cues:
                where = cue.find(words)
                if where is None:
                    continue
                weight = cue.weight * (1.5 if _verb_position(words, where[0]) else 1.0)
                if decision_type is DecisionType.SECURITY:
                    if cosmetic and cue.phrase in WEAK_SECURITY_CUES:
                        continue
                    if cue.phrase not in WEAK_SECURITY_CUES:
                        security_strength = max(security_strength, cue.weight)
                total += weight
                found.setdefault(decision_type, []).append(cue.phrase)
            for path in decision.affected_files:
                hit = _matched(PATH_CUES[decision_type], Words.of(path)) if decision_type in PATH_CUES else []
                if hit:
                    total += 0.5
                    found.setdefault(decision_type, []).append(f"path {path}")
            if decision_type is DecisionType.SECURITY and cosmetic:
                total *= 0.3  # "fix the typo on the password page" is about the typo
                security_strength *= 0.3
            scores[decision_type] = total
        return scores, security_strength, found

    @staticmethod
    def _read_only(words: Words) -> list[str]:
        """Phrases showing the action changes nothing: said outright, or a looking verb first and no changing verb.

        A changing verb outside the phrase that says so undoes it ("deploy v2, don't change anything
        else" deploys), except as the object of a mode ("dry run the deploy").
        """
        said = [
            (cue.phrase, span, object_words)
            for cues, object_words in ((READ_ONLY_MODES, 3), (NO_CHANGE_CUES, 0))
            for cue in cues
            for span in cue.find_all(words)
        ]
        first = [c for c in READ_ONLY_VERBS if (where := c.find(words)) is not None and where[0] <= 2]
        if not said and not first:
            return []
        changes = [span for cue in MUTATING_CUES for span in cue.find_all(words)]
        named = {s[0] for c in READ_ONLY_NAMES for s in c.find_all(words)}  # "the read-only group" names a thing

        def holds(span: tuple[int, int], object_words: int) -> bool:
            covered = range(span[0], span[1] + object_words + 1)
            return all(start in covered for start, _ in changes)

        stated = [phrase for phrase, span, object_words in said if span[0] not in named and holds(span, object_words)]
        if stated:
            return list(dict.fromkeys(stated))
        if not first or changes:
            return []
        return [c.phrase for c in first]

    @staticmethod
    def _best_type(scores: Mapping[DecisionType, float]) -> DecisionType:
        best = max(scores.values(), default=0.0)
        if best < 0.5:
            return DecisionType.GENERAL
        return next(t for t in _TYPE_ORDER if scores.get(t, 0.0) == best)

    @staticmethod
    def _environment(words: Words) -> tuple[Environment | None, tuple[str, ...]]:
        for environment in _ENV_ORDER:
            hit = _matched(ENVIRONMENT_CUES[environment], words)
            if hit:
                return environment, tuple(c.phrase for c in hit)
        return None, ()

    @staticmethod
    def _deletion(words: Words) -> list[str]:
        """Phrases showing that data is deleted: a deleting verb whose object names data (or a strong verb)."""
        found: list[str] = []
        for verbs, strong in ((STRONG_DELETION_VERBS, True), (DELETION_VERBS, False)):
            for verb in verbs:
                start = 0
                while (where := verb.find(words, start)) is not None:
                    start = where[0] + 1
                    phrase = _object_phrase(words, where[1])
                    if not phrase and where[1] + 1 < len(words) and words.raw[where[1] + 1] == "from":
                        phrase = _object_phrase(words, where[1] + 1)  # SQL: DELETE FROM users WHERE ...
                    kind = _object_kind(words, phrase)
                    if kind is True or (strong and kind is None):
                        found.append(" ".join(words.raw[where[0] : phrase.stop]))
        return found

    @staticmethod
    def _scope(decision: Decision, words: Words) -> tuple[Scope | None, tuple[str, ...]]:
        for scope in (Scope.SYSTEM_WIDE, Scope.LOCAL):
            hit = _matched(SCOPE_CUES[scope], words)
            if hit:
                return scope, tuple(c.phrase for c in hit)
        systems, files = len(decision.affected_systems), len(decision.affected_files)
        if systems >= 3 or files >= 25:
            return Scope.SYSTEM_WIDE, (f"{systems} systems, {files} files",)
        if systems == 2 or files >= 2:
            return Scope.COMPONENT, (f"{systems} systems, {files} files",)
        if files == 1 and systems <= 1:
            return Scope.LOCAL, ("one file",)
        return None, ()

    @staticmethod
    def _criticality_factors(
        environment: Environment | None, security: bool, cost: float, deletion: bool, compliance: bool
    ) -> dict[str, float]:
        factors: dict[str, float] = {}
        if environment is Environment.PRODUCTION:
            factors["production"] = 0.9
        if security:
            factors["security"] = 1.0
        if cost >= 100:
            factors["financial"] = round(min(cost / 10_000, 1.0), 4)
        if deletion:
            factors["data_loss"] = 0.95
        if compliance:
            factors["compliance"] = 0.85
        return factors

    @staticmethod
    def _indicators(
        decision: Decision,
        decision_type: DecisionType,
        words: Words,
        scope: Scope,
        breaking: bool,
        reversible: bool,
        compliance: bool,
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        text = {
            name: bool(_matched(cues, words)) for name, cues in {**STRATEGIC_TEXT_CUES, **TACTICAL_TEXT_CUES}.items()
        }
        strategic = {
            "long_term_impact": text["long_term_impact"] or not reversible,
            "cross_system": len(decision.affected_systems) > 1 or scope is Scope.SYSTEM_WIDE,
            "architecture_change": decision_type is DecisionType.ARCHITECTURE or text["core_functionality"],
            "breaking_change": breaking,
            "policy_change": text["policy_change"],
            "resource_allocation": decision_type is DecisionType.RESOURCE and scope is Scope.SYSTEM_WIDE,
            "stakeholder_impact": text["stakeholder_approval"] or compliance,
        }
        tactical = {
            "bug_fix": decision_type is DecisionType.FIX,
            "routine_maintenance": decision_type is DecisionType.MAINTENANCE or text["routine_operation"],
            "configuration": decision_type is DecisionType.CONFIGURATION,
            "short_term": text["short_term"],
            "single_component": scope is Scope.LOCAL
            or (len(decision.affected_systems) <= 1 and 0 < len(decision.affected_files) <= 3),
            "performance_tweak": text["performance_tweak"] and scope is not Scope.SYSTEM_WIDE,
            "reversible": reversible,
        }
        return (
            tuple(name for name, fired in strategic.items() if fired),
            tuple(name for name, fired in tactical.items() if fired),
        )

    @staticmethod
    def _priority(criticality: float, importance: float) -> Priority:
        if criticality > 0.9 or importance >= 0.85:
            return Priority.CRITICAL
        if criticality >= 0.75 or importance >= 0.6:
            return Priority.HIGH
        if criticality >= 0.5 or importance >= 0.3:
            return Priority.MEDIUM
        return Priority.LOW
