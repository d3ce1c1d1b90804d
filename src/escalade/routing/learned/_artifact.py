"""Fitted routers saved as versioned JSON artifacts.

An artifact holds plain numbers (per-term idf and weights, intercepts, cost lines, ``beta``), the
routing ``cutoff`` and where the router was fitted. It holds no pickled code. Loading one therefore
never runs anything from the file, and the format can be read by any tool.

The format is ``escalade-router/1``. A file of another format, or with a missing or mistyped field,
is rejected with the file and the field named.

An artifact may come from someone else, so every field is bounded before anything runs: the token
pattern must be one of :data:`TOKEN_PATTERNS` (the ones escalade fits with; an arbitrary regular
expression such as ``(a+)+b`` could take exponential time on a prompt), n-grams are at most
:data:`MAX_NGRAM` tokens long (``[1, 100000]`` would build every n-gram of a prompt, gigabytes),
the file, its term list and its metadata have size limits, and every number is finite and at
most :data:`MAX_MAGNITUDE` in size (``beta`` between 0 and 1), so routing arithmetic cannot
overflow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from escalade.exceptions import ConfigError
from escalade.routing.learned._features import CostModel
from escalade.routing.learned._gain import CompiledGainRouter
from escalade.untrusted import MAX_ID_CHARS, parse_json, read_text, unstorable

__all__ = [
    "FORMAT",
    "MAX_ARTIFACT_BYTES",
    "MAX_MAGNITUDE",
    "MAX_METADATA_KEYS",
    "MAX_NGRAM",
    "MAX_TERMS",
    "TOKEN_PATTERNS",
    "RouterArtifact",
    "load_router",
    "save_router",
]

FORMAT = "escalade-router/1"

#: Token patterns an artifact may use: scikit-learn's default (words of two or more characters) and
#: words of any length. Both are linear-time.
TOKEN_PATTERNS = (r"(?u)\b\w\w+\b", r"(?u)\b\w+\b")
#: Longest n-gram an artifact may count (``escalade router fit`` uses 1 and 2).
MAX_NGRAM = 3
#: Most terms an artifact may hold (the fitter keeps at most 50,000).
MAX_TERMS = 200_000
#: Largest artifact file read (a 50,000-term artifact is about 4 MB).
MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
#: Most metadata entries; each is a string of at most ``_MAX_METADATA_CHARS``, a number, a bool or null.
MAX_METADATA_KEYS = 50
_MAX_METADATA_CHARS = 1_000
#: Largest size of any number in an artifact.
MAX_MAGNITUDE = 1e15


@dataclass(frozen=True)
class RouterArtifact:
    """A compiled router, the cutoff to route with, and where it came from."""

    router: CompiledGainRouter
    #: Route to premium when the priority reaches this.
    cutoff: float
    #: Free-form provenance: dataset, split, rows, strong share, fitted at, escalade version.
    metadata: Mapping[str, Any] = field(default_factory=dict)


def _cost(model: CostModel) -> dict[str, float]:
    return {"slope": model.slope, "intercept": model.intercept, "floor": model.floor}


def save_router(artifact: RouterArtifact, path: Path) -> None:
    """Write ``artifact`` to ``path`` as JSON (parent folders are created)."""
    router = artifact.router
    document = {
        "format": FORMAT,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "metadata": dict(artifact.metadata),
        "cheap": router.cheap,
        "premium": router.premium,
        "cutoff": artifact.cutoff,
        "beta": router.beta,
        "analyzer": {**router.analyzer, "ngram_range": list(router.analyzer["ngram_range"])},
        "intercepts": {"premium": router.strong_intercept, "cheap": router.weak_intercept},
        "costs": {"premium": _cost(router.strong_cost), "cheap": _cost(router.weak_cost)},
        "terms": [[term, *values] for term, values in sorted(router.terms.items())],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")


class _Reader:
    """Typed, bounded access to an artifact's fields, with errors that name the file and the field."""

    def __init__(self, data: Any, path: Path) -> None:
        self.path = path
        if not isinstance(data, dict):
            raise self.error("the artifact must be a JSON object", "format")
        self.data: dict[str, Any] = data

    def error(self, message: str, field_name: str) -> ConfigError:
        return ConfigError(message, field=field_name, source=str(self.path))

    def get(self, name: str, kind: type | tuple[type, ...], where: str = "") -> Any:
        source: Any = self.data
        for part in where.split(".") if where else ():
            source = source[part]  # the caller fetched (and so checked) each parent first
        field_name = f"{where}.{name}" if where else name
        if name not in source:
            raise self.error(f"missing {name!r}", field_name)
        value = source[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.error(f"{name!r} has the wrong type", field_name)
        return value

    def number(self, name: str, where: str = "", *, low: float = -MAX_MAGNITUDE, high: float = MAX_MAGNITUDE) -> float:
        value = self.get(name, (int, float), where)
        if not (_bounded(value) and low <= value <= high):
            field_name = f"{where}.{name}" if where else name
            bounds = "a number between 0 and 1" if (low, high) == (0.0, 1.0) else f"finite and at most {high:g} in size"
            raise self.error(f"{name!r} must be {bounds}, got {str(value)[:40]}", field_name)
        return float(value)

    def name(self, name: str) -> str:
        value: str = self.get(name, str)
        problem = "is empty" if not value else unstorable(value, max_chars=MAX_ID_CHARS)
        if problem:
            raise self.error(f"{name!r} {problem}", name)
        return value

    def cost(self, which: str) -> CostModel:
        self.get(which, dict, "costs")
        where = f"costs.{which}"
        return CostModel(self.number("slope", where), self.number("intercept", where), self.number("floor", where))

    def analyzer(self) -> dict[str, Any]:
        self.get("analyzer", dict)
        ngram = self.get("ngram_range", list, "analyzer")
        if len(ngram) != 2 or not all(type(n) is int and n >= 1 for n in ngram) or ngram[0] > ngram[1]:
            raise self.error("'ngram_range' must be two positive integers, low first", "analyzer.ngram_range")
        if ngram[1] > MAX_NGRAM:
            raise self.error(f"'ngram_range' counts n-grams of at most {MAX_NGRAM} tokens", "analyzer.ngram_range")
        pattern = self.get("token_pattern", str, "analyzer")
        if pattern not in TOKEN_PATTERNS:
            allowed = " or ".join(repr(p) for p in TOKEN_PATTERNS)
            message = (
                f"'token_pattern' {pattern[:60]!r} is not one of the token patterns escalade fits with ({allowed})"
            )
            raise self.error(message, "analyzer.token_pattern")
        return {
            "ngram_range": tuple(ngram),
            "token_pattern": pattern,
            "lowercase": self.get("lowercase", bool, "analyzer"),
        }

    def terms(self) -> dict[str, tuple[float, float, float]]:
        entries = self.get("terms", list)
        if len(entries) > MAX_TERMS:
            raise self.error(f"holds {len(entries):,} terms; an artifact may hold at most {MAX_TERMS:,} terms", "terms")
        terms: dict[str, tuple[float, float, float]] = {}
        for entry in entries:
            if (
                not isinstance(entry, list)
                or len(entry) != 4
                or not isinstance(entry[0], str)
                or not all(_bounded(v) for v in entry[1:])
            ):
                message = f"bad term entry {str(entry)[:60]!r}: expected [term, idf, w_premium, w_cheap], numbers"
                raise self.error(f"{message} finite and at most {MAX_MAGNITUDE:g} in size", "terms")
            terms[entry[0]] = (float(entry[1]), float(entry[2]), float(entry[3]))
        return terms

    def metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = self.get("metadata", dict)
        flat = len(metadata) <= MAX_METADATA_KEYS and all(
            value is None
            or isinstance(value, bool)
            or _bounded(value)
            or (isinstance(value, str) and len(value) <= _MAX_METADATA_CHARS)
            for value in metadata.values()
        )
        if not flat:
            raise self.error(
                f"must be flat: at most {MAX_METADATA_KEYS} entries, each a string of at most "
                f"{_MAX_METADATA_CHARS:,} characters, a number, true/false or null",
                "metadata",
            )
        return metadata


def _bounded(value: Any) -> bool:
    """A JSON number (not a bool) that is finite and at most ``MAX_MAGNITUDE`` in size."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return abs(value) <= MAX_MAGNITUDE  # False for NaN; exact for integers of any size


def read_artifact(path: Path, what: str) -> Any:
    """The JSON of a ``what`` (``router artifact``...): a regular file of at most ``MAX_ARTIFACT_BYTES``."""
    text = read_text(path, what=what, error=ConfigError, limit=MAX_ARTIFACT_BYTES)
    where = str(path)
    return parse_json(text, lambda message, line: ConfigError(f"not a JSON {what}: {message}", source=where))


def load_router(path: Path) -> RouterArtifact:
    """Read an ``escalade-router/1`` artifact, every field checked and bounded (see the module docstring)."""
    reader = _Reader(read_artifact(path, "router artifact"), path)
    found = reader.get("format", str)
    if found != FORMAT:
        raise reader.error(f"format {found[:40]!r} is not supported; this escalade reads {FORMAT!r}", "format")
    reader.get("intercepts", dict)
    router = CompiledGainRouter(
        cheap=reader.name("cheap"),
        premium=reader.name("premium"),
        analyzer=reader.analyzer(),
        terms=reader.terms(),
        strong_intercept=reader.number("premium", "intercepts"),
        weak_intercept=reader.number("cheap", "intercepts"),
        strong_cost=reader.cost("premium"),
        weak_cost=reader.cost("cheap"),
        beta=reader.number("beta", low=0.0, high=1.0),
    )
    return RouterArtifact(router=router, cutoff=reader.number("cutoff"), metadata=reader.metadata())
