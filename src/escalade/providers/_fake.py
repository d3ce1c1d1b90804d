"""Fakes for tests and examples: a provider that wraps a plain function, and a scripted one.

>>> import asyncio
>>> p = ScriptedProvider({"small": ["A", "B"]}, cost_per_call=0.01)
>>> asyncio.run(p.complete(CompletionRequest(item_id="1", model="small", prompt="?"))).text
'A'
"""

from __future__ import annotations

import asyncio
import inspect
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeAlias

from escalade.exceptions import ProviderError
from escalade.providers._base import Completion, CompletionRequest, CostEstimate, Provider, Usage
from escalade.providers.pricing._tables import estimate_tokens

__all__ = ["FunctionProvider", "ScriptStep", "ScriptedProvider"]

#: One scripted answer: text, a full completion, an exception to raise, or a function of the request.
ScriptStep: TypeAlias = "str | Completion | BaseException | Callable[[CompletionRequest], str | Completion]"

_Handler = Callable[[CompletionRequest], "Completion | str | Awaitable[Completion | str]"]


class FunctionProvider(Provider):
    """A provider whose answers come from ``handler(request)`` (sync or async).

    A plain string result becomes a completion costing ``cost_per_call``.
    """

    def __init__(self, handler: _Handler, *, cost_per_call: float = 0.0) -> None:
        self._handler = handler
        self._cost = cost_per_call
        #: Every request received, in order.
        self.requests: list[CompletionRequest] = []

    async def complete(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        result = self._handler(request)
        if inspect.isawaitable(result):
            result = await result
        return _as_completion(result, request, self._cost)


class ScriptedProvider(Provider):
    """Answers each model from its own script, step by step; the last step repeats.

    ``script`` maps a model name to its steps. ``delay_s`` simulates latency. Per-model costs may be
    given in ``cost_per_call`` as a number or a mapping.
    """

    def __init__(
        self,
        script: Mapping[str, Sequence[ScriptStep]],
        *,
        cost_per_call: float | Mapping[str, float] = 0.0,
        delay_s: float = 0.0,
    ) -> None:
        self._script = {model: list(steps) for model, steps in script.items()}
        self._costs = cost_per_call
        self._delay = delay_s
        self._position: dict[str, int] = defaultdict(int)
        #: Every request received, in order.
        self.requests: list[CompletionRequest] = []

    def cost_of(self, model: str) -> float:
        """What one call to ``model`` costs."""
        return self._costs.get(model, 0.0) if isinstance(self._costs, Mapping) else self._costs

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        """Exact estimate: scripted calls cost a fixed amount."""
        cost = self.cost_of(request.model)
        return CostEstimate(expected_usd=cost, max_usd=cost)

    async def complete(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        steps = self._script.get(request.model)
        if not steps:
            raise ProviderError(f"scripted provider has no script for model {request.model!r}", model=request.model)
        if self._delay:
            await asyncio.sleep(self._delay)
        index = min(self._position[request.model], len(steps) - 1)
        self._position[request.model] += 1
        step = steps[index]
        if isinstance(step, BaseException):
            raise step
        result = step(request) if callable(step) else step
        return _as_completion(result, request, self.cost_of(request.model))


def _as_completion(result: Completion | str, request: CompletionRequest, cost: float) -> Completion:
    if isinstance(result, Completion):
        return result
    usage = Usage(
        input_tokens=sum(estimate_tokens(text) for text in request.texts()),
        output_tokens=estimate_tokens(result),
        estimated=True,
    )
    return Completion(text=result, model=request.model, usage=usage, cost_usd=cost)
