"""Router artifacts: a saved router routes exactly as before; damaged files are rejected by field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from escalade.exceptions import ConfigError
from escalade.replay import Outcomes, load_dataset
from escalade.routing.learned import FORMAT, MAX_NGRAM, GainRouter, RouterArtifact, load_router, save_router
from escalade.routing.learned import _artifact as artifact


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
        ({"analyzer": {"ngram_range": [1, 2], "token_pattern": "(", "lowercase": True}}, "token_pattern'"),
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
    ("content", "message"),
    [(None, "router artifact not found"), ("{not json", "not a JSON router"), ("[]", "must be a JSON object")],
)
def test_unreadable_artifacts(tmp_path: Path, content: str | None, message: str) -> None:
    """A missing file, broken JSON or a non-object are clear errors."""
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_router(path)


def _analyzer(**change: Any) -> dict[str, Any]:
    return {"analyzer": {"ngram_range": [1, 2], "token_pattern": r"(?u)\b\w\w+\b", "lowercase": True, **change}}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            _analyzer(token_pattern="(a+)+b"),
            "analyzer.token_pattern",
            "not one of the token patterns escalade fits with",
        ),
        (_analyzer(token_pattern="(a)(b)"), "analyzer.token_pattern", "not one of the token patterns"),
        (_analyzer(ngram_range=[1, 100_000]), "analyzer.ngram_range", f"at most {MAX_NGRAM}"),
        (_analyzer(ngram_range=[True, True]), "analyzer.ngram_range", "two positive integers"),
        (_analyzer(lowercase="yes"), "analyzer.lowercase", "wrong type"),
        ({"beta": 10**400}, "beta", "a number between 0 and 1"),
        ({"beta": 30}, "beta", "a number between 0 and 1"),
        ({"cutoff": float("nan")}, "cutoff", "got nan"),
        ({"cutoff": 1e300}, "cutoff", r"finite and at most 1e\+15 in size"),
        ({"intercepts": {"premium": 10**400, "cheap": 0.0}}, "intercepts.premium", r"at most 1e\+15"),
        (
            {"costs": {"premium": {"slope": 1, "intercept": 0, "floor": -(10**20)}, "cheap": {}}},
            "costs.premium.floor",
            r"at most 1e\+15",
        ),
        ({"terms": [["w", 10**400, 0.0, 0.0]]}, "terms", "bad term entry"),
        ({"terms": [["w", 1.0, 1e300, 0.0]]}, "terms", "bad term entry"),
        ({"terms": {"w": [1, 2, 3]}}, "terms", "wrong type"),
        ({"metadata": {"x": {"y": 1}}}, "metadata", "flat"),
        ({"metadata": {"x": "y" * 2_000}}, "metadata", "flat"),
        ({"cheap": "m" * 301}, "cheap", "301 characters long"),
        ({"premium": ""}, "premium", "empty"),
    ],
)
def test_artifact_fields_are_bounded(
    saved: tuple[Path, GainRouter, Outcomes], change: dict[str, Any], field: str, message: str
) -> None:
    """Patterns outside the fixed set, long n-grams, huge or non-finite numbers, nested metadata are refused."""
    path = saved[0]
    _damage(path, change)
    with pytest.raises(ConfigError, match=message) as info:
        load_router(path)
    assert info.value.source == str(path)
    assert info.value.field == field


@pytest.mark.parametrize("pattern", artifact.TOKEN_PATTERNS)
def test_allowed_token_patterns_load(saved: tuple[Path, GainRouter, Outcomes], pattern: str) -> None:
    """Each token pattern of the fixed set, with n-grams up to the limit, loads and routes."""
    path = saved[0]
    _damage(path, _analyzer(token_pattern=pattern, ngram_range=[1, MAX_NGRAM]))
    assert load_router(path).router.analyzer["token_pattern"] == pattern


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [
        ("MAX_TERMS", 10, "may hold at most 10 terms"),
        ("MAX_ARTIFACT_BYTES", 1_000, "over the limit of 1,000 bytes"),
        ("MAX_METADATA_KEYS", 0, "must be flat: at most 0 entries"),
    ],
)
def test_artifact_sizes_are_bounded(
    saved: tuple[Path, GainRouter, Outcomes], monkeypatch: pytest.MonkeyPatch, limit: str, value: int, message: str
) -> None:
    """An artifact with more terms, bytes or metadata than the limits allow is refused before it is used."""
    monkeypatch.setattr(artifact, limit, value)
    with pytest.raises(ConfigError, match=message):
        load_router(saved[0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"format": "escalade-router/1", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('{"format": "escalade-router/1", "cutoff": ' + "1" * 5000 + "}", "integer of more than 4,300 digits"),
    ],
)
def test_hostile_json_artifacts(tmp_path: Path, text: str, message: str) -> None:
    """Deep nesting, giant integers and NaN are ConfigErrors naming the file, not RecursionError or ValueError."""
    path = tmp_path / "r.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_router(path)
    assert str(path) in str(info.value)


def test_a_folder_is_not_an_artifact(tmp_path: Path) -> None:
    """A folder (or a device) given as the artifact is refused without reading it."""
    with pytest.raises(ConfigError, match="not a file"):
        load_router(tmp_path)
