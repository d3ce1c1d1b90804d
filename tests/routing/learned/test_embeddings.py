"""Sentence embeddings as extra router features: any embedder plugs in; the offline model is optional."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from typer.testing import CliRunner

from escalade.cli import app
from escalade.exceptions import ConfigError
from escalade.replay import Outcomes, load_dataset
from escalade.routing.learned import GainRouter, MiniLMEmbedder, embeddings_available
from tests.conftest import MakeDataset


def _fake(texts: Sequence[str]) -> NDArray[np.float64]:
    """Two dimensions a model might learn from: length, and whether numbers appear."""
    return np.array([[len(t) / 500, float(any(c.isdigit() for c in t))] for t in texts])


def test_embedder_features_join_the_router(shared_benchmarks: Path) -> None:
    """An embedder's columns are appended to the prompt features; such a router has no fast path."""
    ds = load_dataset(shared_benchmarks / "routellm-gsm8k")
    outcomes = Outcomes.from_rows(ds, ds.rows("all")[:200])
    router = GainRouter.fit(outcomes, cheap=outcomes.models[0], premium=outcomes.premium, embedder=_fake)
    plain = GainRouter.fit(outcomes, cheap=outcomes.models[0], premium=outcomes.premium)
    assert router.encoder.prompts(["a 1"]).shape[1] == plain.encoder.prompts(["a 1"]).shape[1] + 2
    assert router.priority(list(outcomes.prompts[:5])).shape == (5,)
    with pytest.raises(ConfigError, match="no compiled fast path"):
        router.compile()


def test_minilm_embedder_is_optional() -> None:
    """Without the extra, embedding fails with the install command; with it, 384 dimensions come back."""
    embedder = MiniLMEmbedder()
    if not embeddings_available():
        with pytest.raises(ConfigError, match=r"pip install 'escalade\[embeddings\]'"):
            embedder(["hello"])
        return
    vectors = embedder(["hello", "world", "hello"])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(vectors[0], vectors[2])


def test_eval_names_the_extra_it_needs(make_dataset: MakeDataset) -> None:
    """The embedding pre-router runs only when named, and says which extra it needs when missing."""
    result = CliRunner().invoke(app, ["eval", str(make_dataset()), "--policy", "magic"])
    assert "prerouter-minilm-lr (needs the embeddings extra)" in result.stderr
    if not embeddings_available():
        missing = CliRunner().invoke(app, ["eval", str(make_dataset()), "--policy", "prerouter-minilm-lr"])
        assert missing.exit_code == 2
        assert "needs the embeddings extra" in missing.stderr
