"""Fitted verifiers saved as versioned JSON artifacts (``escalade-verifier/1``).

An artifact holds plain numbers (per-term idf and weight of the prompt and answer vocabularies,
the answer-check weights, the intercept), the model whose answers it judges, the acceptance
``threshold`` (the operating point) and provenance metadata. It holds no pickled code.

It is read as strictly as a router artifact (:mod:`escalade.routing.learned._artifact`): the file is
bounded in size, the token patterns must be ones escalade fits with, n-grams are short, term lists
and metadata are bounded, every number is finite and at most ``MAX_MAGNITUDE`` in size, and the
threshold is between 0 and 1. A missing or mistyped field is rejected with the file and the field named.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from escalade.exceptions import ConfigError
from escalade.quality import TASK_KINDS
from escalade.routing.learned._artifact import MAX_MAGNITUDE, MAX_TERMS, _bounded, _Reader, read_artifact
from escalade.routing.learned._features import ANSWER_FEATURES
from escalade.routing.learned._verifier import CompiledVerifier, TextTerms

__all__ = ["VERIFIER_FORMAT", "VerifierArtifact", "load_verifier", "save_verifier"]

VERIFIER_FORMAT = "escalade-verifier/1"


@dataclass(frozen=True)
class VerifierArtifact:
    """A compiled verifier, the threshold to accept at, and where it came from."""

    verifier: CompiledVerifier
    #: Accept the answer when P(right) reaches this.
    threshold: float
    #: Free-form, flat provenance: dataset, split, rows, operating point, fitted at.
    metadata: Mapping[str, Any] = field(default_factory=dict)


def _terms(terms: TextTerms) -> dict[str, Any]:
    return {
        "analyzer": {**terms.analyzer, "ngram_range": list(terms.analyzer["ngram_range"])},
        "terms": [[term, *values] for term, values in sorted(terms.terms.items())],
    }


def save_verifier(artifact: VerifierArtifact, path: Path) -> None:
    """Write ``artifact`` to ``path`` as JSON (parent folders are created)."""
    verifier = artifact.verifier
    document = {
        "format": VERIFIER_FORMAT,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "metadata": dict(artifact.metadata),
        "model": verifier.model,
        "task_kind": verifier.task_kind,
        "threshold": artifact.threshold,
        "intercept": verifier.intercept,
        "features": dict(zip(ANSWER_FEATURES, verifier.feature_weights, strict=True)),
        "prompt": _terms(verifier.prompt_terms),
        "answer": None if verifier.answer_terms is None else _terms(verifier.answer_terms),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")


class _VerifierReader(_Reader):
    def vocabulary(self, where: str) -> TextTerms:
        self.get(where, dict)
        analyzer = _Reader(self.data[where], self.path)
        try:
            settings = analyzer.analyzer()
        except ConfigError as exc:
            raise self.error(exc.message, f"{where}.{exc.field}") from None
        entries = self.get("terms", list, where)
        if len(entries) > MAX_TERMS:
            message = f"holds {len(entries):,} terms; an artifact may hold at most {MAX_TERMS:,} terms"
            raise self.error(message, f"{where}.terms")
        terms: dict[str, tuple[float, float]] = {}
        for entry in entries:
            if (
                not isinstance(entry, list)
                or len(entry) != 3
                or not isinstance(entry[0], str)
                or not all(_bounded(v) for v in entry[1:])
            ):
                message = f"bad term entry {str(entry)[:60]!r}: expected [term, idf, weight], numbers"
                raise self.error(f"{message} finite and at most {MAX_MAGNITUDE:g} in size", f"{where}.terms")
            terms[entry[0]] = (float(entry[1]), float(entry[2]))
        return TextTerms(settings, terms)

    def features(self) -> list[float]:
        found = self.get("features", dict)
        extra = sorted(set(found) - set(ANSWER_FEATURES))
        if extra:
            raise self.error(f"unknown answer feature(s): {', '.join(e[:40] for e in extra[:5])}", "features")
        return [self.number(name, "features") for name in ANSWER_FEATURES]

    def task_kind(self) -> str:
        kind: str = self.get("task_kind", str)
        if kind not in TASK_KINDS:
            raise self.error(f"'task_kind' {kind[:40]!r} is not one of {', '.join(TASK_KINDS)}", "task_kind")
        return kind


def load_verifier(path: Path) -> VerifierArtifact:
    """Read an ``escalade-verifier/1`` artifact, every field checked and bounded (see the module docstring)."""
    reader = _VerifierReader(read_artifact(path, "verifier artifact"), path)
    found = reader.get("format", str)
    if found != VERIFIER_FORMAT:
        message = f"format {found[:40]!r} is not supported; this escalade reads {VERIFIER_FORMAT!r}"
        raise reader.error(message, "format")
    answer = None if reader.get("answer", (dict, type(None))) is None else reader.vocabulary("answer")
    verifier = CompiledVerifier(
        model=reader.name("model"),
        task_kind=reader.task_kind(),
        prompt_terms=reader.vocabulary("prompt"),
        answer_terms=answer,
        feature_weights=reader.features(),
        intercept=reader.number("intercept"),
    )
    threshold = reader.number("threshold", low=0.0, high=1.0)
    return VerifierArtifact(verifier=verifier, threshold=threshold, metadata=reader.metadata())
