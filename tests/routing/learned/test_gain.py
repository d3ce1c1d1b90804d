"""The learned gain-per-dollar router: fitting, priorities, the single-prompt fast path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from escalade.exceptions import ConfigError
from escalade.replay import Outcomes, load_dataset
from escalade.routing.learned import GainRouter, curve_area
from tests.conftest import MakeDataset


@pytest.fixture
def gsm8k(shared_benchmarks: Path) -> Outcomes:
    """The first 400 rows of routellm-gsm8k."""
    ds = load_dataset(shared_benchmarks / "routellm-gsm8k")
    return Outcomes.from_rows(ds, ds.rows("all")[:400])


def test_curve_area_by_hand() -> None:
    """Escalating the row that gains first: quality 0.5 -> 1.0 -> 1.0 over cost 1 -> 2 -> 3, area 0.875."""
    y_weak, y_strong = np.array([0, 1]), np.array([1, 1])
    step = np.array([1.0, 1.0])
    assert curve_area(np.array([1.0, 0.0]), y_weak, y_strong, 1.0, step) == pytest.approx(0.875)
    # the wrong order gains nothing on the first step: 0.5 -> 0.5 -> 1.0
    assert curve_area(np.array([0.0, 1.0]), y_weak, y_strong, 1.0, step) == pytest.approx(0.625)


def test_compiled_router_matches_the_batch_priority(gsm8k: Outcomes) -> None:
    """The single-prompt fast path gives the batch priorities, and routes by the cutoff."""
    train, held = gsm8k.subset(range(300)), gsm8k.subset(range(300, 400))
    router = GainRouter.fit(train, cheap=gsm8k.models[0], premium=gsm8k.premium)
    assert router.beta in (0.0, 0.5, 1.0)
    batch = router.priority(held.prompts)
    compiled = router.compile()
    fast = np.array([compiled.priority(p) for p in held.prompts])
    np.testing.assert_allclose(fast, batch, rtol=1e-9, atol=1e-12)
    cutoff = float(np.median(batch))
    routed = [compiled.route(p, cutoff) for p in held.prompts]
    assert routed.count(gsm8k.premium) == int((batch >= cutoff).sum())


def test_cascade_router_needs_answers(gsm8k: Outcomes) -> None:
    """A router that reads cheap answers refuses to score without them and has no fast path."""
    router = GainRouter.fit(gsm8k.subset(range(100)), cheap=gsm8k.models[0], premium=gsm8k.premium, reads_answer=True)
    with pytest.raises(ConfigError, match="pass answers"):
        router.priority(["q"])
    with pytest.raises(ConfigError, match="prompt-only"):
        router.compile()
    answers = [gsm8k.responses[r][0] for r in range(100, 110)]
    assert router.priority(list(gsm8k.prompts[100:110]), answers).shape == (10,)


def test_fit_needs_rows_with_both_outcomes(make_dataset: MakeDataset) -> None:
    """Training rows where the two models never both answered are an error naming them."""
    ds = load_dataset(make_dataset())
    outcomes = Outcomes.from_rows(ds, ds.rows("test"))
    empty = outcomes.subset([])
    with pytest.raises(ConfigError, match="small-a"):
        GainRouter.fit(empty, cheap="small-a", premium="big")


def test_empty_batch(gsm8k: Outcomes) -> None:
    """Scoring no prompts gives an empty array."""
    router = GainRouter.fit(gsm8k.subset(range(100)), cheap=gsm8k.models[0], premium=gsm8k.premium)
    assert router.priority([]).shape == (0,)
