"""The learned verifier: its compiled form equals the fitted classifier, its artifact is read strictly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from escalade.exceptions import ConfigError
from escalade.providers import Completion
from escalade.quality import ScoringContext
from escalade.replay import Outcomes, load_dataset
from escalade.routing.learned import (
    MAX_NGRAM,
    MAX_TERMS,
    VERIFIER_FORMAT,
    Probability,
    TextEncoder,
    VerifierArtifact,
    VerifierScorer,
    feature_matrix,
    fit_verifier,
    load_verifier,
    save_verifier,
)


@pytest.fixture
def gsm8k(shared_benchmarks: Path) -> Outcomes:
    """400 GSM8K rows: 300 to fit on, 100 unseen."""
    ds = load_dataset(shared_benchmarks / "routellm-gsm8k")
    return Outcomes.from_rows(ds, ds.rows("all")[:400])


@pytest.fixture
def saved(gsm8k: Outcomes, tmp_path: Path) -> Path:
    """A verifier of the cheap model fitted on 300 rows, saved at threshold 0.6."""
    verifier = fit_verifier(gsm8k.subset(range(300)), gsm8k.models[0])
    path = tmp_path / "sub" / "verifier.json"
    save_verifier(VerifierArtifact(verifier, threshold=0.6, metadata={"dataset": "gsm8k", "rows": 300}), path)
    return path


def test_compiled_verifier_equals_the_fitted_classifier(gsm8k: Outcomes) -> None:
    """P(right) of the compiled verifier is the logistic regression's on unseen rows."""
    train, held, cheap = gsm8k.subset(range(300)), gsm8k.subset(range(300, 400)), gsm8k.models[0]
    col = train.column(cheap)
    prompts, answers = list(train.prompts), [r[col] for r in train.responses]
    encoder = TextEncoder(prompts, answers)
    x = encoder.training_answered(feature_matrix(answers, prompts, train.task_kind))
    reference = Probability.fit(x, train.right(np.arange(300), cheap).astype(np.int64), seed=0)
    held_answers = [r[col] for r in held.responses]
    held_x = encoder.answered(
        encoder.prompts(list(held.prompts)),
        held_answers,
        feature_matrix(held_answers, list(held.prompts), held.task_kind),
    )
    compiled = fit_verifier(train, cheap)
    got = [compiled.probability(p, a) for p, a in zip(held.prompts, held_answers, strict=True)]
    np.testing.assert_allclose(got, reference.predict(held_x), rtol=1e-9, atol=1e-12)


def test_round_trip_keeps_every_number(saved: Path, gsm8k: Outcomes) -> None:
    """A loaded artifact judges as the saved one did; threshold, model and metadata survive."""
    artifact = load_verifier(saved)
    fitted = fit_verifier(gsm8k.subset(range(300)), gsm8k.models[0])
    col = gsm8k.column(gsm8k.models[0])
    for r in range(300, 320):
        prompt, answer = gsm8k.prompts[r], gsm8k.responses[r][col]
        assert artifact.verifier.probability(prompt, answer) == pytest.approx(fitted.probability(prompt, answer))
    assert artifact.threshold == 0.6
    assert artifact.verifier.model == gsm8k.models[0]
    assert artifact.metadata == {"dataset": "gsm8k", "rows": 300}
    assert json.loads(saved.read_text())["format"] == VERIFIER_FORMAT


def _damage(path: Path, change: dict[str, Any]) -> None:
    data = json.loads(path.read_text())
    for key, value in change.items():
        where, _, name = key.rpartition(".")
        target = data
        for part in where.split(".") if where else ():
            target = target[part]
        if value is None:
            del target[name]
        else:
            target[name] = value
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"format": "escalade-router/1"}, "format", "is not supported"),
        ({"threshold": None}, "threshold", "missing 'threshold'"),
        ({"threshold": 1.5}, "threshold", "between 0 and 1"),
        ({"intercept": 1e300}, "intercept", "finite"),
        ({"model": ""}, "model", "is empty"),
        ({"task_kind": "poetry"}, "task_kind", "is not one of"),
        ({"features.length": "x"}, "features.length", "wrong type"),
        ({"features.surprise": 1.0}, "features", "unknown answer feature"),
        ({"prompt.terms": [["word", 1.0]]}, "prompt.terms", "bad term entry"),
        ({"prompt.analyzer.token_pattern": "(a+)+b"}, "prompt.analyzer.token_pattern", "token patterns escalade"),
        ({"answer.analyzer.ngram_range": [1, MAX_NGRAM + 1]}, "answer.analyzer.ngram_range", "at most"),
        ({"metadata": {"nested": {"a": 1}}}, "metadata", "must be flat"),
    ],
)
def test_damaged_artifact_names_file_and_field(saved: Path, change: dict[str, Any], field: str, message: str) -> None:
    """Every damaged field is rejected with the file and the field named."""
    _damage(saved, change)
    with pytest.raises(ConfigError, match=message) as caught:
        load_verifier(saved)
    assert caught.value.field == field
    assert caught.value.source == str(saved)


def test_too_many_terms_are_refused(saved: Path) -> None:
    """A term list above the bound is refused before any term is read."""
    _damage(saved, {"prompt.terms": [["t", 1.0, 0.0]] * (MAX_TERMS + 1)})
    with pytest.raises(ConfigError, match="at most"):
        load_verifier(saved)


def test_not_json_is_a_config_error(tmp_path: Path) -> None:
    """A file that is not JSON says so, with the file."""
    path = tmp_path / "v.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not a JSON verifier artifact"):
        load_verifier(path)


def _context(model: str, text: str, prompt: str = "What is 2 + 2?") -> ScoringContext:
    return ScoringContext(
        item_id="q",
        prompt=prompt,
        task_kind="math-word-problem",
        tier="cheap",
        attempt=1,
        completion=Completion(text=text, model=model),
    )


def test_scorer_accepts_exactly_at_the_threshold(saved: Path) -> None:
    """The verifier scorer passes (CQS 100) when P(right) reaches the threshold, and fails (0) below it."""
    artifact = load_verifier(saved)
    model = artifact.verifier.model
    p = artifact.verifier.probability("What is 2 + 2?", "2 + 2 = 4\n#### 4")
    assert VerifierScorer(artifact.verifier, p).score(_context(model, "2 + 2 = 4\n#### 4")).cqs == 100.0
    below = VerifierScorer(artifact.verifier, min(p + 1e-6, 1.0)).score(_context(model, "2 + 2 = 4\n#### 4"))
    assert below.cqs == 0.0
    assert below.measured()["verifier_p"] == pytest.approx(p)


def test_scorer_judges_other_models_by_format(saved: Path) -> None:
    """An answer of another model is judged by its format alone."""
    artifact = load_verifier(saved)
    scorer = VerifierScorer(artifact.verifier, 0.99)
    assert scorer.score(_context("someone-else", "#### 4")).cqs == 100.0
    assert scorer.score(_context("someone-else", "")).cqs == 0.0
