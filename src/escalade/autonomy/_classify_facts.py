"""Reading a decision for :mod:`escalade.autonomy._classify`: each field stated, else inferred, else a default.

:func:`read_facts` resolves the fields in a fixed order (the order of ``sources``) and returns them as
:class:`Facts`; the scores built on them are in :mod:`escalade.autonomy._classify_scores`. The type
is read from cue scores weighted by the named constants below.

>>> facts = read_facts(Decision(description="Dry run the deploy of 2.4 against prod"))
>>> facts.read_only, facts.evidence["read_only"], facts.environment.value
(True, ('dry run',), 'production')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from escalade.autonomy._decisions import Decision, DecisionType, Environment, Scope
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

Source = Literal["stated", "inferred", "default"]
_T = TypeVar("_T")

# -- type weights ----------------------------------------------------------------------------------
#: Riskier first: breaks ties between types with the same score.
TYPE_ORDER = (
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
#: Multiplier on a type cue that stands where the verb does (first, or after "to", "will", ...).
VERB_POSITION_BOOST = 1.5
#: Score a file path adds to each type whose path cues it matches.
PATH_HINT = 0.5
#: Multiplier on the security score and strength of cosmetic work ("fix the typo on the password page").
COSMETIC_SECURITY_DAMPING = 0.3
#: Lowest best cue score that names a type; below it the decision is general.
MIN_TYPE_SCORE = 0.5
#: Weight of the strongest security cue from which a decision of any type is security-sensitive.
SECURITY_SENSITIVE_STRENGTH = 0.8

#: The words after which a cue stands where the verb does ("we *will* rotate the keys").
_VERB_LEADS = frozenset({"to", "will", "please", "should", "must", "we", "i", "agent"})
_ENV_ORDER = (Environment.PRODUCTION, Environment.STAGING, Environment.DEVELOPMENT)
#: Stems that say deleted data can be had back (a backup, an archive, a soft delete, a recycle bin).
_RECOVERABLE_STEMS = ("backup", "archiv", "soft", "recycl", "trash")
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


class Resolver:
    """Resolves fields: stated wins, else inferred (with its evidence), else the default; records which."""

    def __init__(self) -> None:
        self.sources: dict[str, Source] = {}
        self.evidence: dict[str, tuple[str, ...]] = {}

    def __call__(self, name: str, stated: _T | None, inferred: _T | None, found: Iterable[str], default: _T) -> _T:
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

    def flag(self, name: str, stated: bool | None, found: list[str], *, shows: bool = True) -> bool:
        """A yes/no field: stated, else ``shows`` when phrases were ``found`` (its evidence), else the opposite."""
        return self(name, stated, shows if found else None, found, not shows)

    def note(self, name: str, found: list[str]) -> bool:
        """Whether a signal no caller states (money, urgency) was ``found``; the phrases are its evidence."""
        if found:
            self.evidence[name] = tuple(found)
        return bool(found)


@dataclass(frozen=True, kw_only=True)
class Facts:
    """What a decision is and does, each field stated or read from the description (see ``sources``)."""

    type: DecisionType
    #: The type the description reads as, whatever type was stated.
    described_type: DecisionType
    #: Cue score of every type.
    type_scores: Mapping[DecisionType, float]
    environment: Environment | None
    read_only: bool
    deletion: bool
    record_count: int
    estimated_cost: float
    performance_impact: float
    breaking_change: bool
    affects_compliance: bool
    scope: Scope
    reversible: bool
    security_sensitive: bool
    money: bool
    urgent: bool
    #: Names of the strategic and tactical text cues found in the description.
    text_cues: frozenset[str]
    sources: Mapping[str, Source]
    evidence: Mapping[str, tuple[str, ...]]


def read_facts(decision: Decision) -> Facts:
    """Resolve every field of ``decision``; an action that changes nothing deletes, breaks and commits nothing."""
    words, text, pick = Words.of(decision.description), decision.description, Resolver()
    scores, security_strength, type_found = type_scores(decision, words)
    described = best_type(scores)
    decision_type = pick("type", decision.type, described, type_found.get(described, ()), DecisionType.GENERAL)
    environment = pick("environment", decision.environment, *environment_of(words), None)
    read_only = pick.flag("read_only", None, read_only_phrases(words))
    changes = not read_only  # unless the caller says so
    deletion = pick.flag("deletion", decision.involves_data_deletion, deletion_phrases(words) if changes else [])
    records = pick("record_count", decision.record_count, count_of_records(text), (), 0)
    cost = pick("estimated_cost", decision.estimated_cost, money_of(text), (), 0.0)
    slower = pick("performance_impact", decision.performance_impact, percent_slower_of(text), (), 0.0)
    breaking = pick.flag("breaking_change", decision.breaking_change, phrases(BREAKING_CUES, words) if changes else [])
    compliance_found = phrases(COMPLIANCE_CUES, words) if changes else []
    compliance = pick.flag("affects_compliance", decision.affects_compliance, compliance_found)
    scope = pick("scope", decision.scope, *scope_of(decision, words), Scope.COMPONENT)
    irreversible = irreversible_phrases(words, read_only=read_only, deletion=deletion)
    reversible = pick.flag("reversible", decision.reversible, irreversible, shows=False)
    strong_security = security_strength >= SECURITY_SENSITIVE_STRENGTH
    security = changes and (decision_type is DecisionType.SECURITY or strong_security)
    money = pick.note("money", phrases(MONEY_CUES, words) if changes else [])
    urgent = pick.note("urgent", phrases(URGENT_CUES, words))
    return Facts(
        type=decision_type,
        described_type=described,
        type_scores=scores,
        environment=environment,
        read_only=read_only,
        deletion=deletion,
        record_count=records,
        estimated_cost=cost,
        performance_impact=slower,
        breaking_change=breaking,
        affects_compliance=compliance,
        scope=scope,
        reversible=reversible,
        security_sensitive=security,
        money=money,
        urgent=urgent,
        text_cues=text_cues(words),
        sources=pick.sources,
        evidence=pick.evidence,
    )


def matched(cues: Iterable[Cue], words: Words) -> list[Cue]:
    """The cues found in ``words``."""
    return [cue for cue in cues if cue.find(words) is not None]


def phrases(cues: Iterable[Cue], words: Words) -> list[str]:
    """The phrases of the cues found in ``words``."""
    return [cue.phrase for cue in matched(cues, words)]


def text_cues(words: Words) -> frozenset[str]:
    """Names of the strategic and tactical text cues found in ``words``."""
    return frozenset(
        name for name, cues in {**STRATEGIC_TEXT_CUES, **TACTICAL_TEXT_CUES}.items() if matched(cues, words)
    )


def type_scores(
    decision: Decision, words: Words
) -> tuple[dict[DecisionType, float], float, dict[DecisionType, list[str]]]:
    """Cue score of each type, the strongest security cue's weight, and the phrases that scored for each type."""
    scores: dict[DecisionType, float] = {}
    found: dict[DecisionType, list[str]] = {}
    cosmetic = bool(matched(COSMETIC_CUES, words))
    security_strength = 0.0
    for decision_type, cues in TYPE_CUES.items():
        total = 0.0
        for cue in cues:
            where = cue.find(words)
            if where is None:
                continue
            weight = cue.weight * (VERB_POSITION_BOOST if _verb_position(words, where[0]) else 1.0)
            if decision_type is DecisionType.SECURITY:
                if cosmetic and cue.phrase in WEAK_SECURITY_CUES:
                    continue
                if cue.phrase not in WEAK_SECURITY_CUES:
                    security_strength = max(security_strength, cue.weight)
            total += weight
            found.setdefault(decision_type, []).append(cue.phrase)
        for path in decision.affected_files:
            hit = matched(PATH_CUES[decision_type], Words.of(path)) if decision_type in PATH_CUES else []
            if hit:
                total += PATH_HINT
                found.setdefault(decision_type, []).append(f"path {path}")
        if decision_type is DecisionType.SECURITY and cosmetic:
            total *= COSMETIC_SECURITY_DAMPING  # "fix the typo on the password page" is about the typo
            security_strength *= COSMETIC_SECURITY_DAMPING
        scores[decision_type] = total
    return scores, security_strength, found


def best_type(scores: Mapping[DecisionType, float]) -> DecisionType:
    """The type with the best score (the riskier on a tie), general when no score reaches the minimum."""
    best = max(scores.values(), default=0.0)
    if best < MIN_TYPE_SCORE:
        return DecisionType.GENERAL
    return next(t for t in TYPE_ORDER if scores.get(t, 0.0) == best)


def read_only_phrases(words: Words) -> list[str]:
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


def environment_of(words: Words) -> tuple[Environment | None, tuple[str, ...]]:
    """The riskiest environment named in ``words``, with the phrases that named it."""
    for environment in _ENV_ORDER:
        hit = matched(ENVIRONMENT_CUES[environment], words)
        if hit:
            return environment, tuple(c.phrase for c in hit)
    return None, ()


def deletion_phrases(words: Words) -> list[str]:
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


def scope_of(decision: Decision, words: Words) -> tuple[Scope | None, tuple[str, ...]]:
    """The scope the description names, else the one the counts of systems and files show."""
    for scope in (Scope.SYSTEM_WIDE, Scope.LOCAL):
        hit = matched(SCOPE_CUES[scope], words)
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


def irreversible_phrases(words: Words, *, read_only: bool, deletion: bool) -> list[str]:
    """Phrases showing the action cannot be undone; deleting data counts unless it can be had back."""
    found = [] if read_only else phrases(IRREVERSIBLE_CUES, words)
    if deletion and not any(w in words.stems for w in _RECOVERABLE_STEMS):
        found.append("deletes data")
    return found


def _verb_position(words: Words, start: int) -> bool:
    return start <= 1 or words.raw[start - 1] in _VERB_LEADS


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
