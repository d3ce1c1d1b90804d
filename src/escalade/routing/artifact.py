"""Fitted routers saved as versioned JSON artifacts.

An artifact holds plain numbers (per-term idf and weights, intercepts, cost lines, ``beta``), the
routing ``cutoff`` and where the router was fitted. It holds no pickled code. Loading one therefore
never runs anything from the file, and the format can be read by any tool.

The format is ``escalade-router/1``. A file of another format, or with a missing or mistyped field,
is rejected with the file and the field named.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from escalade.evaluation.features import CostModel
from escalade.exceptions import ConfigError
from escalade.routing.gain import CompiledGainRouter

__all__ = ["FORMAT", "RouterArtifact", "load_router", "save_router"]

FORMAT = "escalade-router/1"


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
    """Typed access to an artifact's fields, with errors that name the file and the field."""

    def __init__(self, data: Any, path: Path) -> None:
        self.path = path
        if not isinstance(data, dict):
            raise self.error("the artifact must be a JSON object", "format")
        self.data: dict[str, Any] = data

    def error(self, message: str, field_name: str) -> ConfigError:
        return ConfigError(message, field=field_name, source=str(self.path))

    def get(self, name: str, kind: type | tuple[type, ...], where: Mapping[str, Any] | None = None) -> Any:
        source = self.data if where is None else where
        if name not in source:
            raise self.error(f"missing {name!r}", name)
        value = source[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.error(f"{name!r} has the wrong type", name)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(f"{name!r} is not finite", name)
        return value

    def number(self, name: str, where: Mapping[str, Any] | None = None) -> float:
        return float(self.get(name, (int, float), where))

    def cost(self, which: str) -> CostModel:
        costs = self.get("costs", dict)
        entry = self.get(which, dict, costs)
        return CostModel(self.number("slope", entry), self.number("intercept", entry), self.number("floor", entry))


def load_router(path: Path) -> RouterArtifact:
    """Read an ``escalade-router/1`` artifact."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read router artifact: {exc.strerror}", source=str(path)) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not a JSON router artifact: {exc}", source=str(path)) from exc
    reader = _Reader(data, path)
    found = reader.get("format", str)
    if found != FORMAT:
        raise reader.error(f"format {found!r} is not supported; this escalade reads {FORMAT!r}", "format")
    analyzer = reader.get("analyzer", dict)
    ngram = reader.get("ngram_range", list, analyzer)
    if len(ngram) != 2 or not all(isinstance(n, int) and n >= 1 for n in ngram) or ngram[0] > ngram[1]:
        raise reader.error("'ngram_range' must be two positive integers, low first", "ngram_range")
    intercepts = reader.get("intercepts", dict)
    terms: dict[str, tuple[float, float, float]] = {}
    for entry in reader.get("terms", list):
        if (
            not isinstance(entry, list)
            or len(entry) != 4
            or not isinstance(entry[0], str)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in entry[1:])
        ):
            raise reader.error(f"bad term entry {str(entry)[:60]!r}: expected [term, idf, w_premium, w_cheap]", "terms")
        terms[entry[0]] = (float(entry[1]), float(entry[2]), float(entry[3]))
    token_pattern = reader.get("token_pattern", str, analyzer)
    try:
        re.compile(token_pattern)
    except re.error as exc:
        raise reader.error(f"'token_pattern' is not a regular expression: {exc}", "token_pattern") from exc
    router = CompiledGainRouter(
        cheap=reader.get("cheap", str),
        premium=reader.get("premium", str),
        analyzer={
            "ngram_range": tuple(ngram),
            "token_pattern": token_pattern,
            "lowercase": reader.get("lowercase", bool, analyzer),
        },
        terms=terms,
        strong_intercept=reader.number("premium", intercepts),
        weak_intercept=reader.number("cheap", intercepts),
        strong_cost=reader.cost("premium"),
        weak_cost=reader.cost("cheap"),
        beta=reader.number("beta"),
    )
    return RouterArtifact(router=router, cutoff=reader.number("cutoff"), metadata=reader.get("metadata", dict))
