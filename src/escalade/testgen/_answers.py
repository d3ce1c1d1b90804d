"""Recorded model answers for test generation: offline runs, demos and tests without an API key.

A file in the ``escalade-testgen-answers/1`` format holds, for each item (a function or class name of
the target) and model, the answer that model gave; optionally the ladder the answers were recorded
on::

    {"format": "escalade-testgen-answers/1",
     "tiers": {"cheap": ["gpt-4o-mini", "gpt-4.1-nano"], "capable": ["gpt-4.1-mini"], "premium": ["gpt-4.1"]},
     "answers": {"add": {"gpt-4o-mini": "```python\\n...\\n```\\n# confidence: 0.9", ...}, ...}}

Only the answers are recorded: what they are worth is measured by running them, as for a live
model. Tokens are estimated from the text (``ceil(chars / 4)``) and billed at the model's real price
(genai-prices), so costs are realistic estimates; a model with no known price makes the budget stop
before it is asked (fail closed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from escalade.exceptions import DatasetError, MissingOutcomeError
from escalade.providers import Completion, CompletionRequest, CostEstimate, Provider, Usage
from escalade.providers.pricing import PriceBook, estimate_tokens
from escalade.untrusted import MAX_ID_CHARS, MAX_TIER_CHARS, parse_json, read_text, unstorable

__all__ = ["ANSWERS_FORMAT", "RecordedAnswers"]

ANSWERS_FORMAT = "escalade-testgen-answers/1"
#: The largest recorded-answers file read, in bytes (32 MiB).
MAX_ANSWERS_BYTES = 32 << 20


class RecordedAnswers(Provider):
    """Answers each request from ``answers[item][model]``; every role of a team gets the same answer."""

    max_call_s = 0.0  # answers from memory at once

    def __init__(
        self,
        answers: Mapping[str, Mapping[str, str]],
        *,
        tiers: Mapping[str, tuple[str, ...]] | None = None,
        price_book: PriceBook | None = None,
    ) -> None:
        self.answers = {item: dict(models) for item, models in answers.items()}
        #: The ladder the answers were recorded on (tier name → models), if the file said.
        self.tiers = dict(tiers or {})
        self.price_book = price_book or PriceBook()

    @classmethod
    def from_file(cls, path: Path) -> RecordedAnswers:
        """Load a recorded-answers file; errors name the file and the field at fault."""
        where = str(path)
        if not path.exists():
            raise DatasetError("no such file", path=where)
        text = read_text(
            path, what="answers file", error=lambda message, source: DatasetError(message, path=source),
            limit=MAX_ANSWERS_BYTES,
        )  # fmt: skip
        raw = parse_json(text, lambda message, line: DatasetError(message, path=where, line=line))
        if not isinstance(raw, dict) or raw.get("format") != ANSWERS_FORMAT:
            raise DatasetError(f"not a {ANSWERS_FORMAT} file", path=where, field="format")
        return cls(_answers(raw.get("answers"), where), tiers=_tiers(raw.get("tiers"), where))

    def _bill(self, request: CompletionRequest, text: str) -> tuple[Usage, float | None, str]:
        usage = Usage(
            input_tokens=estimate_tokens(request.prompt) + estimate_tokens(request.system),
            output_tokens=estimate_tokens(text),
            estimated=True,
        )
        priced = self.price_book.cost(usage, request.model)
        return usage, priced.usd, priced.price_data_version

    def _answer(self, request: CompletionRequest) -> str:
        text = self.answers.get(request.item_id, {}).get(request.model)
        if text is None:
            raise MissingOutcomeError(item_id=request.item_id, model=request.model)
        return text

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        """The bill of the recorded answer, known in advance (infinite for an unknown price: fail closed).

        For a model with no recorded answer to the item (it is never asked, or the premium-only
        baseline wants a figure), the longest answer recorded for the item stands in for its size.
        """
        recorded = self.answers.get(request.item_id, {})
        text = recorded.get(request.model) or max(recorded.values(), key=len, default="")
        cost = self._bill(request, text)[1]
        bound = math.inf if cost is None else cost
        return CostEstimate(expected_usd=bound, max_usd=bound)

    async def complete(self, request: CompletionRequest) -> Completion:
        text = self._answer(request)
        usage, cost, version = self._bill(request, text)
        return Completion(text=text, model=request.model, usage=usage, cost_usd=cost, price_data_version=version)


def _answers(raw: Any, where: str) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict) or not raw:
        raise DatasetError("must map item names to {model: answer}", path=where, field="answers")
    answers: dict[str, dict[str, str]] = {}
    for item, models in raw.items():
        if (
            not isinstance(models, dict)
            or not models
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in models.items())
        ):
            raise DatasetError("must map model names to answer texts", path=where, field=f"answers.{item}")
        for model, text in models.items():
            if problem := unstorable(text):
                raise DatasetError(problem, path=where, field=f"answers.{item}.{model}")
        answers[item] = models
    return answers


def _tiers(raw: Any, where: str) -> dict[str, tuple[str, ...]] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not all(
        isinstance(models, list) and models and all(isinstance(m, str) for m in models) for models in raw.values()
    ):
        raise DatasetError("must map tier names to lists of model names", path=where, field="tiers")
    for name, models in raw.items():
        problems = [
            unstorable(name, max_chars=MAX_TIER_CHARS),
            *(unstorable(m, max_chars=MAX_ID_CHARS) for m in models),
        ]
        if problem := next((p for p in problems if p), None):
            raise DatasetError(f"a tier or model name {problem}", path=where, field=f"tiers.{name[:40]}")
    return {name: tuple(models) for name, models in raw.items()}
