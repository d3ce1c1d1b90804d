"""Router artifacts: a saved router routes exactly as before; damaged files are rejected by field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from escalade.datasets import load_dataset
from escalade.evaluation.outcomes import Outcomes
from escalade.exceptions import ConfigError
from escalade.routing.artifact import FORMAT, RouterArtifact, load_router, save_router
from escalade.routing.gain import GainRouter


@pytest.fixture
def saved(shared_benchmarks: Path, tmp_path: Path) -> tuple[Path, GainRouter, Outcomes]:
    """A router fitted on 300 GSM8K rows and saved, with 100 unseen rows to route."""
    ds = load_dataset(shared_benchmarks / "routellm-gsm8k")
    outcomes = Outcomes.from_rows(ds, ds.rows("all")[:400])
    router = GainRouter.fit(outcomes.subset(range(300)), cheap=outcomes.models[0], premium=outcomes.premium)
    path = tmp_path / "sub" / "router.json"
    save_router(RouterArtifact(router.compile(), cutoff=0.1, metadata={"dataset": "gsm8k"}), path)
    return path, router, outcomes.subset(range(300, 400))


def test_round_trip_routes_the_same(saved: tuple[Path, GainRouter, Outcomes]) -> None:
    """Loaded priorities equal the fitted router's, and metadata and cutoff survive."""
    path, router, held = saved
    artifact = load_router(path)
    loaded = [artifact.router.priority(p) for p in held.prompts]
    np.testing.assert_allclose(loaded, router.priority(list(held.prompts)), rtol=1e-9, atol=1e-12)
    assert artifact.cutoff == 0.1
    assert artifact.metadata == {"dataset": "gsm8k"}
    assert json.loads(path.read_text())["format"] == FORMAT


def _damage(path: Path, change: dict[str, Any]) -> None:
    data = json.loads(path.read_text())
    for key, value in change.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "escalade-router/9"}, "format 'escalade-router/9' is not supported"),
        ({"cutoff": None}, "missing 'cutoff'"),
        ({"beta": "high"}, "'beta' has the wrong type"),
        ({"cheap": True}, "'cheap' has the wrong type"),
        ({"terms": [["word", 1.0, 0.5]]}, "bad term entry"),
        ({"terms": [["word", 1.0, 0.5, "x"]]}, "bad term entry"),
        ({"analyzer": {"ngram_range": [2, 1], "token_pattern": "x", "lowercase": True}}, "ngram_range"),
        ({"analyzer": {"ngram_range": [1, 2], "token_pattern": "(", "lowercase": True}}, "not a regular expression"),
        ({"costs": {"premium": {"slope": 1, "intercept": 0}, "cheap": {}}}, "missing 'floor'"),
    ],
)
def test_damaged_artifacts_name_the_field(
    saved: tuple[Path, GainRouter, Outcomes], change: dict[str, Any], message: str
) -> None:
    """A wrong format, missing or mistyped field, or bad term is an error naming the file and field."""
    path = saved[0]
    _damage(path, change)
    with pytest.raises(ConfigError, match=message) as info:
        load_router(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"), [(None, "cannot read"), ("{not json", "not a JSON router"), ("[]", "must be a JSON object")]
)
def test_unreadable_artifacts(tmp_path: Path, content: str | None, message: str) -> None:
    """A missing file, broken JSON or a non-object are clear errors."""
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_router(path)
