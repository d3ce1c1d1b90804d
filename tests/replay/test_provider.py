"""The replay provider answers from recorded outcomes and never hands out a grade."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from escalade.exceptions import MissingOutcomeError, ProviderError
from escalade.providers import CompletionRequest
from escalade.replay import ReplayProvider, load_dataset
from tests.conftest import MakeDataset, row


def _request(item: str, model: str) -> CompletionRequest:
    return CompletionRequest(item_id=item, model=model, prompt="p")


def test_returns_recorded_response_and_cost(make_dataset: MakeDataset) -> None:
    """Model M on row R gives M's recorded response and bill, with estimated usage."""
    provider = ReplayProvider(load_dataset(make_dataset()).rows("test"))
    assert provider.estimate(_request("q2", "mid")).max_usd == 0.01
    completion = asyncio.run(provider.complete(_request("q2", "mid")))
    assert (completion.text, completion.cost_usd, completion.model) == ("B", 0.01, "mid")
    assert completion.usage.estimated
    fields = {f.name for f in dataclasses.fields(completion)}
    assert not fields & {"score", "grade", "outputs"}


def test_missing_outcome_is_a_typed_error(make_dataset: MakeDataset) -> None:
    """A model with no outcome on a row raises MissingOutcomeError (a ProviderError) and costs nothing."""
    provider = ReplayProvider(load_dataset(make_dataset()).rows("test"))
    assert provider.estimate(_request("q4", "small-b")).max_usd == 0.0
    with pytest.raises(MissingOutcomeError, match="no recorded outcome of model 'small-b' for row 'q4'") as info:
        asyncio.run(provider.complete(_request("q4", "small-b")))
    assert isinstance(info.value, ProviderError)
    assert info.value.model == "small-b"


def test_unknown_row_is_a_provider_error(make_dataset: MakeDataset) -> None:
    """An id the replay does not hold is a ProviderError."""
    provider = ReplayProvider(load_dataset(make_dataset()).rows("test"))
    with pytest.raises(ProviderError, match="no row 'zz'"):
        asyncio.run(provider.complete(_request("zz", "mid")))


def test_repeated_calls_use_samples_then_run_out(make_dataset: MakeDataset) -> None:
    """Calling again returns recorded samples in order; past them the replay has no new answer."""
    r = row("s", "p", {"small-a": (1, 0.1, "A")})
    r["outputs"]["small-a"]["samples"] = [{"response": "B", "cost_usd": 0.05}]
    provider = ReplayProvider(load_dataset(make_dataset([r])).rows("test"))
    first = asyncio.run(provider.complete(_request("s", "small-a")))
    assert provider.estimate(_request("s", "small-a")).max_usd == 0.05
    second = asyncio.run(provider.complete(_request("s", "small-a")))
    assert (first.text, second.text, second.cost_usd) == ("A", "B", 0.05)
    with pytest.raises(MissingOutcomeError):
        asyncio.run(provider.complete(_request("s", "small-a")))
