"""``RecordedAnswers``: test-generation answers from a file, billed at real prices as estimated usage."""

from __future__ import annotations

import asyncio
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from escalade.exceptions import DatasetError, MissingOutcomeError, ProviderError
from escalade.providers import CompletionRequest
from escalade.testgen import ANSWERS_FORMAT, RecordedAnswers

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "calculator_answers.json"

#: gpt-4o-mini's price per million input and output tokens.
MINI_IN, MINI_OUT = 0.15, 0.60


def _request(
    item: str = "add", model: str = "gpt-4o-mini", prompt: str = "p" * 400, system: str | None = None
) -> CompletionRequest:
    return CompletionRequest(item_id=item, model=model, prompt=prompt, system=system)


@pytest.fixture
def answers() -> RecordedAnswers:
    """Two items: `add` answered by gpt-4o-mini (1,001 chars) and a made-up model, `div` by two real models."""
    return RecordedAnswers(
        {
            "add": {"gpt-4o-mini": "a" * 1001, "house-model-7b": "b" * 40},
            "div": {"gpt-4o-mini": "c" * 8, "gpt-4.1-mini": "d" * 2000},
        }
    )


def _write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "answers.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_from_file_reads_the_example() -> None:
    """The shipped example loads: its items, the models that answered each, and its ladder."""
    loaded = RecordedAnswers.from_file(EXAMPLE)
    assert set(loaded.answers) == {"add", "divide", "parse_number", "mean", "percentage", "Calculator"}
    assert set(loaded.answers["parse_number"]) == {"gpt-4o-mini", "gpt-4.1-nano", "gpt-4.1-mini", "gpt-4.1"}
    assert all(isinstance(text, str) and text for models in loaded.answers.values() for text in models.values())
    assert loaded.tiers == {
        "cheap": ("gpt-4o-mini", "gpt-4.1-nano"),
        "capable": ("gpt-4.1-mini",),
        "premium": ("gpt-4.1",),
    }


def test_from_file_without_tiers(tmp_path: Path) -> None:
    """The ladder is optional: without it the answers load with no tiers."""
    path = _write(tmp_path, {"format": ANSWERS_FORMAT, "answers": {"add": {"m": "x"}}})
    loaded = RecordedAnswers.from_file(path)
    assert (loaded.answers, loaded.tiers) == ({"add": {"m": "x"}}, {})


GOOD: dict[str, Any] = {"format": ANSWERS_FORMAT, "answers": {"add": {"gpt-4o-mini": "x"}}}


@pytest.mark.parametrize(
    ("content", "where", "message"),
    [
        ({**GOOD, "format": "escalade-testgen-answers/2"}, "field 'format'", f"not a {ANSWERS_FORMAT} file"),
        ({"answers": GOOD["answers"]}, "field 'format'", f"not a {ANSWERS_FORMAT} file"),
        ([GOOD], "field 'format'", f"not a {ANSWERS_FORMAT} file"),
        ({**GOOD, "answers": None}, "field 'answers'", "must map item names to {model: answer}"),
        ({**GOOD, "answers": ["x"]}, "field 'answers'", "must map item names to {model: answer}"),
        ({**GOOD, "answers": {}}, "field 'answers'", "must map item names to {model: answer}"),
        ({**GOOD, "answers": {"add": "x"}}, "field 'answers.add'", "must map model names to answer texts"),
        ({**GOOD, "answers": {"add": {"m": 3}}}, "field 'answers.add'", "must map model names to answer texts"),
        ({**GOOD, "answers": {"add": {"m": None}}}, "field 'answers.add'", "must map model names to answer texts"),
        ({**GOOD, "tiers": ["cheap"]}, "field 'tiers'", "must map tier names to lists of model names"),
        ({**GOOD, "tiers": {"cheap": "gpt-4o-mini"}}, "field 'tiers'", "must map tier names to lists of model names"),
        ({**GOOD, "tiers": {"cheap": []}}, "field 'tiers'", "must map tier names to lists of model names"),
        ({**GOOD, "tiers": {"cheap": ["a", 1]}}, "field 'tiers'", "must map tier names to lists of model names"),
        (
            {**GOOD, "answers": {"add": {"m": "x\x00"}}},
            "field 'answers.add.m'",
            "contains a NUL character at position 1 (the database cannot store it)",
        ),
        (
            {**GOOD, "tiers": {"c" * 101: ["m"]}},
            f"field 'tiers.{'c' * 40}'",
            "a tier or model name is 101 characters long; the store keeps at most 100",
        ),
        (
            {**GOOD, "tiers": {"cheap": ["m\ud800"]}},
            "field 'tiers.cheap'",
            "a tier or model name contains a lone surrogate '\\ud800' at position 1, which is not valid Unicode "
            "(\\ud800-\\udfff escapes must come in pairs)",
        ),
        (
            '{"format": "escalade-testgen-answers/1", "answers": ' + "[" * 100_000 + "]" * 100_000 + "}",
            None,
            f"nested too deeply (more than about {sys.getrecursionlimit():,} levels of brackets)",
        ),
    ],
)
def test_bad_file_names_the_file_and_field(tmp_path: Path, content: Any, where: str | None, message: str) -> None:
    """Each malformed answers file is a DatasetError naming the file and the field at fault."""
    path = _write(tmp_path, content)
    with pytest.raises(DatasetError) as info:
        RecordedAnswers.from_file(path)
    assert str(info.value) == (f"{path}, {where}: {message}" if where else f"{path}: {message}")
    assert info.value.path == str(path)


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    """A file that is not JSON is an error naming the file and the line the parser stopped at."""
    path = _write(tmp_path, '{\n  "format": "escalade-testgen-answers/1",\n  "answers": {,}\n}\n')
    with pytest.raises(DatasetError, match=r"answers\.json, line 3: not valid JSON: ") as info:
        RecordedAnswers.from_file(path)
    assert (info.value.path, info.value.line) == (str(path), 3)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.json", "no such file"),
        (lambda d: d, "cannot read the answers file: not a file"),
        (lambda d: _bytes(d / "latin.json", b'{"format": "\xe9"}'), "answers file is not UTF-8 text"),
    ],
)
def test_unreadable_file_names_the_file(tmp_path: Path, make: Callable[[Path], Path], message: str) -> None:
    """A missing, unreadable or non-UTF-8 file is an error naming it."""
    path = make(tmp_path)
    with pytest.raises(DatasetError) as info:
        RecordedAnswers.from_file(path)
    assert str(info.value).startswith(f"{path}: {message}")


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_complete_bills_estimated_usage_at_real_prices(answers: RecordedAnswers) -> None:
    """Tokens are ceil(chars / 4) of prompt, system and answer, billed at gpt-4o-mini's genai-prices price."""
    completion = asyncio.run(answers.complete(_request(prompt="p" * 400, system="s" * 41)))
    assert completion.text == "a" * 1001
    assert completion.model == "gpt-4o-mini"
    # 100 prompt + 11 system tokens in, 251 out (1,001 / 4 rounded up)
    usage = completion.usage
    assert (usage.input_tokens, usage.output_tokens, usage.estimated) == (111, 251, True)
    assert completion.cost_usd == pytest.approx((111 * MINI_IN + 251 * MINI_OUT) / 1e6)
    assert completion.cost_usd == pytest.approx(0.00016725)
    assert completion.price_data_version
    assert completion.confidence is None


def test_complete_is_the_same_for_every_role(answers: RecordedAnswers) -> None:
    """Every role of a team gets the same recorded answer."""
    agent = asyncio.run(answers.complete(_request()))
    reviewer = asyncio.run(
        answers.complete(CompletionRequest(item_id="add", model="gpt-4o-mini", prompt="p" * 400, role="reviewer"))
    )
    assert (agent.text, agent.cost_usd) == (reviewer.text, reviewer.cost_usd)


def test_unknown_price_is_billed_as_unknown(answers: RecordedAnswers) -> None:
    """A model with no known price answers, but its cost is unknown (None), never silently zero."""
    completion = asyncio.run(answers.complete(_request(model="house-model-7b")))
    assert completion.text == "b" * 40
    assert completion.cost_usd is None


@pytest.mark.parametrize(("item", "model"), [("add", "gpt-4.1"), ("nothing", "gpt-4o-mini")])
def test_missing_answer_is_a_missing_outcome(answers: RecordedAnswers, item: str, model: str) -> None:
    """An (item, model) pair with no recorded answer raises MissingOutcomeError, a ProviderError."""
    with pytest.raises(MissingOutcomeError, match=f"no recorded outcome of model '{model}' for row '{item}'") as info:
        asyncio.run(answers.complete(_request(item=item, model=model)))
    assert isinstance(info.value, ProviderError)
    assert (info.value.item_id, info.value.model) == (item, model)


def test_estimate_is_exact_for_a_recorded_answer(answers: RecordedAnswers) -> None:
    """The estimate of a recorded answer is its bill, known in advance."""
    request = _request(prompt="p" * 400, system="s" * 41)
    estimate = answers.estimate(request)
    billed = asyncio.run(answers.complete(request)).cost_usd
    assert estimate.expected_usd == estimate.max_usd == billed


def test_estimate_falls_back_to_the_longest_answer_of_the_item(answers: RecordedAnswers) -> None:
    """A model without an answer to the item is estimated at the longest recorded answer, at its own price."""
    estimate = answers.estimate(_request(item="add", model="gpt-4.1-mini", prompt="p" * 400))
    # the longest answer to add is 1,001 chars: 251 tokens out, 100 in, at gpt-4.1-mini's $0.40 / $1.60
    assert estimate.max_usd == pytest.approx((100 * 0.40 + 251 * 1.60) / 1e6)
    assert estimate.expected_usd == estimate.max_usd


def test_estimate_of_an_unknown_item_is_the_prompt_alone(answers: RecordedAnswers) -> None:
    """With no answer recorded for the item at all, only the prompt is billed."""
    assert answers.estimate(_request(item="nothing", prompt="p" * 400)).max_usd == pytest.approx(100 * MINI_IN / 1e6)


def test_estimate_fails_closed_without_a_price(answers: RecordedAnswers) -> None:
    """A model with no known price is estimated at infinity, so a budget stops before it is asked."""
    estimate = answers.estimate(_request(model="house-model-7b"))
    assert math.isinf(estimate.expected_usd)
    assert math.isinf(estimate.max_usd)


def test_answers_take_no_time() -> None:
    """Recorded answers come from memory: calls have no time budget to wait for."""
    assert RecordedAnswers.max_call_s == 0
    assert RecordedAnswers({"a": {"m": "x"}}).max_call_s == 0
