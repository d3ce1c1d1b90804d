"""Trigger detection: signs in a task that it needs a strong tier from the start.

A :class:`TriggerPattern` names one trigger (``authentication``, ``schema_migration``, ...), its
category (security, complexity, business impact), the phrases that signal it and how strongly. The
detector reads the task's description and type, the paths of the files to modify and, when given,
their contents; each source counts with its own weight (a word in the description says more than
the same word deep inside a file). Evidence is combined per trigger as ``1 - Π(1 - c_i)``.

Phrases are regular expressions over normalised text: lower case, with ``snake_case``,
``camelCase``, dots and slashes split into words, so ``services/auth/jwtMiddleware.py`` reads as
``services auth jwt middleware py``. Every phrase is matched on word boundaries, so ``auth`` does not
fire on ``author``. The built-in phrases cover variants and synonyms (``JWT``, ``OAuth``,
``password hashing``, ``drop column``); :func:`load_trigger_patterns` adds custom ones from TOML.

>>> detector = TriggerDetector()
>>> [t.name for t in detector.detect(Task("Implement JWT authentication with OAuth2"))]
['authentication']
>>> detector.detect(Task("Fix the author name on the blog post"))
()
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from escalade.exceptions import ConfigError
from escalade.untrusted import read_data

__all__ = [
    "DEFAULT_PATTERNS",
    "SOURCE_WEIGHTS",
    "Task",
    "Trigger",
    "TriggerCategory",
    "TriggerDetector",
    "TriggerPattern",
    "load_trigger_patterns",
]

#: More files than this to modify is a multi-file change.
MANY_FILES = 3


class TriggerCategory(StrEnum):
    """Why a trigger asks for a strong tier."""

    SECURITY = "security"
    COMPLEXITY = "complexity"
    BUSINESS_IMPACT = "business_impact"


@dataclass(frozen=True)
class Task:
    """A piece of work to route."""

    #: What is asked, in words.
    description: str
    #: Kind of work, e.g. ``implementation``, ``bugfix``, ``refactor``, ``docs``.
    task_type: str | None = None
    #: Paths of the files the task will modify.
    files: tuple[str, ...] = ()
    #: Optional contents of those files, by path.
    file_contents: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Trigger:
    """A trigger that fired, with how sure the detector is and why."""

    name: str
    category: TriggerCategory
    #: Combined confidence in [0, 1].
    confidence: float
    #: One sentence a person can read.
    reason: str
    #: What matched, as ``source: "text"``.
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class TriggerPattern:
    """One trigger: phrases (regular expressions, matched on word boundaries) and their confidence."""

    name: str
    category: TriggerCategory
    phrases: tuple[str, ...]
    #: Confidence that one match in the description means the trigger applies.
    confidence: float
    #: Why the trigger matters, completing "Escalate: ...".
    reason: str
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("a trigger needs a name", field="name")
        if not 0 < self.confidence <= 1:
            raise ConfigError(f"trigger {self.name!r}: confidence must be in (0, 1]", field="confidence")
        if not self.phrases:
            raise ConfigError(f"trigger {self.name!r} has no phrases", field="phrases")
        for phrase in self.phrases:
            try:
                re.compile(phrase)
            except re.error as exc:
                raise ConfigError(f"trigger {self.name!r}: bad phrase {phrase!r}: {exc}", field="phrases") from exc
        alternatives = "|".join(f"(?:{p})" for p in self.phrases)
        object.__setattr__(self, "compiled", re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])"))


def _p(name: str, category: TriggerCategory, confidence: float, reason: str, *phrases: str) -> TriggerPattern:
    return TriggerPattern(name=name, category=category, phrases=phrases, confidence=confidence, reason=reason)


_S, _C, _B = TriggerCategory.SECURITY, TriggerCategory.COMPLEXITY, TriggerCategory.BUSINESS_IMPACT

#: The built-in triggers of seed 001.
DEFAULT_PATTERNS: tuple[TriggerPattern, ...] = (
    _p(
        "authentication",
        _S,
        0.9,
        "authentication or authorization code decides who may do what",
        r"auth(?:n|z|entication|enticates?|enticated|enticating|enticator|ori[sz]ation|ori[sz]e[sd]?|ori[sz]ing)?",
        r"o ?auth ?2?",
        r"jwts?|json web tokens?",
        r"(?:access|refresh|bearer|session|api|id) tokens?",
        r"log ?ins?|sign ?ins?|sign ?on|sso|saml|openid(?: connect)?|oidc",
        r"passwords?|passphrases?|credentials?",
        r"mfa|2fa|two factor|multi factor",
        r"rbac|abac|permissions?|access control|acls?|roles? based",
        r"sessions? (?:management|handling|cookies?)",
    ),
    _p(
        "cryptography",
        _S,
        0.9,
        "cryptography mistakes are silent and exploitable",
        r"encrypt\w*|decrypt\w*|crypto\w*|cipher\w*",
        r"(?:password|passwd) hash\w*|hash\w* (?:the )?passwords?|salted hash\w*",
        r"bcrypt|argon2\w*|scrypt|pbkdf2|hmac|sha ?(?:1|256|512)|md5|aes(?: \d+)?|rsa|ecdsa|ed25519",
        r"tls|ssl|mtls|certificates?|x509",
        r"(?:private|secret|signing|encryption|master) keys?",
        r"key (?:rotation|management|derivation)|secrets? management",
    ),
    _p(
        "vulnerability",
        _S,
        0.85,
        "a security vulnerability fix must be right the first time",
        r"vulnerab\w*|cve \d+ \d+|cve|exploit\w*|security (?:fix|patch|hole|issue|bug|flaw)",
        r"xss|csrf|ssrf|rce|cross site \w+|(?:sql|command|code|template) injection|injections?",
        r"sanitiz\w*|escap(?:e|ing) (?:user )?input|path traversal|privilege escalation",
    ),
    _p(
        "compliance",
        _S,
        0.85,
        "compliance requirements carry legal and audit consequences",
        r"complian\w*|gdpr|hipaa|pci(?: dss)?|sox|soc ?2|iso ?27001|ccpa",
        r"audit (?:logs?|trails?)|pii|personal data|data retention|right to (?:be forgotten|erasure)",
    ),
    _p(
        "schema_migration",
        _C,
        0.85,
        "database schema changes are hard to undo and can lose data",
        r"schema (?:change|changes|migration|migrations|update)",
        r"(?:database|db|table|data model) (?:schema|migration|migrations)",
        r"migrat\w* (?:the |our |a )?(?:\w+ )?(?:database|db|schema|tables?|columns?)",
        r"alter table|(?:drop|add|rename) (?:a |the )?(?:column|table|index)s?|foreign keys?",
        r"alembic|flyway|liquibase|migrations|migrations? (?:file|script)s?",
    ),
    _p(
        "cross_service",
        _C,
        0.75,
        "changes across services need the whole system in mind",
        r"cross ?service|across (?:all |the |several |multiple )?services|micro ?services?",
        r"(?:multiple|several|many) (?:services|systems|repos|repositories)|distributed (?:system|transaction)s?",
        r"service (?:mesh|boundaries|architecture)|event driven architecture",
    ),
    _p(
        "complex_algorithm",
        _C,
        0.7,
        "the algorithm is intricate enough that a weak model gets it subtly wrong",
        r"algorithms?|dynamic programming|graph (?:search|traversal|algorithm)|shortest path",
        r"concurren\w*|race conditions?|deadlocks?|lock free|thread safe\w*|parallel\w*",
        r"consensus|raft|paxos|scheduler|numerical(?:ly)? stab\w*|optimi[sz]ation problem",
    ),
    _p(
        "multi_file_refactor",
        _C,
        0.6,
        "a broad refactor touches many call sites at once",
        r"refactor\w*|restructur\w*|re ?architect\w*|rewrite the \w+ (?:module|layer|package)",
    ),
    _p(
        "revenue_path",
        _B,
        0.85,
        "money flows through this code",
        r"payments?|billing|checkout|invoic\w*|subscriptions?|pricing|revenue|refunds?|charges?",
        r"stripe|paypal|braintree|adyen|(?:shopping )?cart|order (?:processing|fulfil\w*)|ledger",
    ),
    _p(
        "performance",
        _B,
        0.65,
        "performance work needs measurement and care",
        r"performance|latency|throughput|bottlenecks?|slow (?:queries|query|pages?|endpoints?)",
        r"optimi[sz]\w* (?:the )?(?:\w+ )?(?:queries|query|speed|performance|memory|latency)|n ?\+ ?1",
        r"scal(?:e|ing|ability) (?:to|up|out)|caching (?:layer|strategy)|load (?:testing|balancing)",
    ),
    _p(
        "api_contract",
        _B,
        0.8,
        "public interfaces are contracts that clients depend on",
        r"(?:rest(?:ful)?|public|http|web) apis?|api (?:design|contracts?|endpoints?|versions?|versioning|changes?)",
        r"openapi|swagger|graphql|grpc|protobuf|breaking changes?|backwards? compat\w*",
        r"endpoints?|contracts?|(?:request|response) (?:schema|format)s?",
    ),
    _p(
        "migration_strategy",
        _B,
        0.75,
        "a migration plan decides downtime and data safety",
        r"migration (?:strategy|plan|path)|data migration|zero downtime|backfill\w*|cut ?over|blue green",
        r"(?:phased|staged|canary) (?:rollout|release|deploy\w*)|rollback plan",
    ),
)

#: How much a match counts by where it was found.
SOURCE_WEIGHTS: Mapping[str, float] = {"description": 1.0, "task_type": 1.0, "path": 0.8, "contents": 0.6}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9+]+")


def _normalise(text: str) -> str:
    """Lower case with identifiers split into words: ``jwtMiddleware.py`` -> ``jwt middleware py``."""
    return " ".join(_NON_WORD.sub(" ", _CAMEL.sub(" ", text).lower()).split())


class TriggerDetector:
    """Finds the triggers in a task; see the module docstring."""

    def __init__(self, patterns: Iterable[TriggerPattern] = DEFAULT_PATTERNS) -> None:
        self.patterns = tuple(patterns)
        names = [p.name for p in self.patterns]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ConfigError(f"trigger {duplicated[0]!r} is defined twice", field="name")

    def _sources(self, task: Task) -> list[tuple[str, str]]:
        sources = [("description", _normalise(task.description))]
        if task.task_type:
            sources.append(("task_type", _normalise(task.task_type)))
        sources += [("path", _normalise(path)) for path in task.files]
        sources += [("contents", _normalise(text)) for text in task.file_contents.values()]
        return sources

    def detect(self, task: Task) -> tuple[Trigger, ...]:
        """The triggers that fired, most confident first."""
        sources = self._sources(task)
        found: list[Trigger] = []
        for pattern in self.patterns:
            evidence: list[str] = []
            doubt = 1.0
            for source, text in sources:
                matches = sorted({m.group(0) for m in pattern.compiled.finditer(text)})
                if matches:
                    doubt *= 1.0 - pattern.confidence * SOURCE_WEIGHTS[source]
                    evidence += [f'{source}: "{m}"' for m in matches]
            if pattern.name == "multi_file_refactor" and evidence and len(task.files) <= MANY_FILES:
                continue  # a refactor is a trigger only when it is broad
            if evidence:
                found.append(self._trigger(pattern, 1.0 - doubt, evidence))
        if len(task.files) > MANY_FILES and not any(t.name == "multi_file_refactor" for t in found):
            found.append(
                Trigger(
                    name="many_files",
                    category=TriggerCategory.COMPLEXITY,
                    confidence=min(0.5 + 0.05 * (len(task.files) - MANY_FILES), 0.9),
                    reason=f"Escalate: the task modifies {len(task.files)} files (more than {MANY_FILES}).",
                    evidence=tuple(f"path: {p}" for p in task.files),
                )
            )
        return tuple(sorted(found, key=lambda t: (-t.confidence, t.name)))

    @staticmethod
    def _trigger(pattern: TriggerPattern, confidence: float, evidence: Sequence[str]) -> Trigger:
        shown = ", ".join(evidence[:3]) + (f" and {len(evidence) - 3} more" if len(evidence) > 3 else "")
        return Trigger(
            name=pattern.name,
            category=pattern.category,
            confidence=round(min(confidence, 0.99), 4),
            reason=f"Escalate: {pattern.reason} ({shown}).",
            evidence=tuple(evidence),
        )


_PATTERN_KEYS = {"name", "category", "phrases", "confidence", "reason"}


def _pattern_from(entry: Any, where: str) -> TriggerPattern:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: each [[triggers]] entry must be a table", field="triggers")
    unknown = sorted(set(entry) - _PATTERN_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}", field=unknown[0])
    missing = sorted(_PATTERN_KEYS - {"reason"} - set(entry))
    if missing:
        raise ConfigError(f"{where}: missing {missing[0]!r}", field=missing[0])
    name = entry["name"]
    try:
        category = TriggerCategory(entry["category"])
    except ValueError:
        choices = ", ".join(c.value for c in TriggerCategory)
        raise ConfigError(
            f"{where}: trigger {name!r} has category {entry['category']!r}; use one of {choices}", field="category"
        ) from None
    phrases = entry["phrases"]
    if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
        raise ConfigError(f"{where}: trigger {name!r}: phrases must be a list of strings", field="phrases")
    confidence = entry["confidence"]
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise ConfigError(f"{where}: trigger {name!r}: confidence must be a number", field="confidence")
    try:
        return TriggerPattern(
            name=str(name),
            category=category,
            phrases=tuple(_normalise_phrase(p) for p in phrases),
            confidence=float(confidence),
            reason=str(entry.get("reason", f"custom trigger {name}")),
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc.message}", field=exc.field) from exc


def _normalise_phrase(phrase: str) -> str:
    """Custom phrases are matched against normalised text, so they are lower-cased too."""
    return phrase.lower()


def load_trigger_patterns(path: Path, *, include_defaults: bool = True) -> tuple[TriggerPattern, ...]:
    """Triggers from a TOML file of ``[[triggers]]`` tables, after the built-ins unless told otherwise.

    A custom trigger with a built-in's name replaces it. ``disable = ["performance"]`` at the top level
    removes built-ins.
    """
    data = read_data(path, "toml", what="trigger file", error=ConfigError)
    unknown = sorted(set(data) - {"triggers", "disable"})
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}", field=unknown[0], source=str(path))
    entries = data.get("triggers", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: triggers must be an array of tables", field="triggers", source=str(path))
    custom = [_pattern_from(entry, f"{path} trigger #{i + 1}") for i, entry in enumerate(entries)]
    disabled = data.get("disable", [])
    if not isinstance(disabled, list) or not all(isinstance(d, str) for d in disabled):
        raise ConfigError(f"{path}: disable must be a list of trigger names", field="disable", source=str(path))
    known = {p.name for p in DEFAULT_PATTERNS} | {p.name for p in custom}
    stray = [d for d in disabled if d not in known]
    if stray:
        raise ConfigError(f"{path}: cannot disable unknown trigger {stray[0]!r}", field="disable", source=str(path))
    replaced = {p.name for p in custom} | set(disabled)
    base = [p for p in DEFAULT_PATTERNS if p.name not in replaced] if include_defaults else []
    return (*base, *(p for p in custom if p.name not in set(disabled)))
