"""Replay provider: answers from recorded real outcomes instead of calling a model.

Asked model M for row R, it returns M's recorded response and cost for R. The first call returns
the recorded response; later calls for the same (row, model) return the recorded ``samples`` in
order, and once they are used up the provider raises
:class:`~escalade.exceptions.MissingOutcomeError` (a replay cannot invent a new answer), as it does
for a model with no outcome on that row. Neither costs anything. The grade is never handed out.

The bill of a recorded answer is known before the "call", so :meth:`estimate` is exact and the
budget guard's bound holds to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from escalade.exceptions import MissingOutcomeError, ProviderError
from escalade.providers import Completion, CompletionRequest, CostEstimate, Provider, Usage
from escalade.providers.pricing import estimate_tokens
from escalade.replay._datasets import BenchmarkRow, RecordedOutcome

if TYPE_CHECKING:  # the rows' types only: providers do not import the dataset layer above them
    from escalade.replay._datasets import BenchmarkRow, RecordedOutcome

__all__ = ["ReplayProvider"]


def _bill(outcome: RecordedOutcome, index: int) -> float:
    """Recorded cost of answer ``index`` (0: primary); a sample without a cost bills like the primary."""
    if index == 0:
        return outcome.cost_usd
    sample_cost = outcome.samples[index - 1].cost_usd
    return outcome.cost_usd if sample_cost is None else sample_cost


class ReplayProvider(Provider):
    """Replays recorded outcomes of ``rows``, looked up by ``request.item_id``."""

    max_call_s = 0.0  # answers from memory at once

    def __init__(self, rows: Iterable[BenchmarkRow]) -> None:
        self._rows = {row.key: row for row in rows}
        self._calls: dict[tuple[str, str], int] = defaultdict(int)

    def _lookup(self, request: CompletionRequest) -> tuple[RecordedOutcome, int]:
        row = self._rows.get(request.item_id)
        if row is None:
            raise ProviderError(f"replay has no row {request.item_id!r}", model=request.model)
        outcome = row.outputs.get(request.model)
        if outcome is None:
            raise MissingOutcomeError(item_id=request.item_id, model=request.model)
        index = self._calls[(request.item_id, request.model)]
        if index > len(outcome.samples):
            raise MissingOutcomeError(item_id=request.item_id, model=request.model)
        return outcome, index

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        """The recorded bill of the answer the next call would return (0 if there is none)."""
        try:
            outcome, index = self._lookup(request)
        except ProviderError:
            return CostEstimate(expected_usd=0.0, max_usd=0.0)
        cost = _bill(outcome, index)
        return CostEstimate(expected_usd=cost, max_usd=cost)

    async def complete(self, request: CompletionRequest) -> Completion:
        outcome, index = self._lookup(request)
        self._calls[(request.item_id, request.model)] += 1
        cost = _bill(outcome, index)
        if index == 0:
            text = outcome.response
        else:
            sample = outcome.samples[index - 1]
            text = sample.response if sample.response is not None else sample.answer
        usage = Usage(input_tokens=estimate_tokens(request.prompt), output_tokens=estimate_tokens(text), estimated=True)
        return Completion(text=text, model=request.model, usage=usage, cost_usd=cost)
