"""Agent teams: how one attempt on a tier composes provider calls.

The seed's meta-orchestration gives each tier a team: one agent on the cheap tier, a planner and an
executor on the capable tier, an architect, an executor and a reviewer on the premium tier. A team
is a strategy with one method, ``run(context) -> TeamOutcome``; every call it makes goes through
``context.call``, which the cascade guards with the budget, so a team can never spend unnoticed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from escalade.exceptions import ConfigError, MissingOutcomeError
from escalade.providers import Completion, CompletionRequest, RequestOptions

__all__ = [
    "ArchitectExecutorReviewer",
    "PlannerExecutor",
    "SampledAgent",
    "SingleAgent",
    "TeamContext",
    "TeamOutcome",
    "TeamStrategy",
    "default_team",
]


@dataclass(frozen=True, kw_only=True)
class TeamContext:
    """What a team works from."""

    #: Id of the work item.
    item_id: str
    #: The task.
    prompt: str
    #: Model the team's agents use.
    model: str
    #: Output-token cap for each call.
    max_output_tokens: int
    #: Sends one request through the budget guard to the provider.
    call: Callable[[CompletionRequest], Awaitable[Completion]] = field(repr=False)
    #: The item's conversation, tools and options, sent with every request.
    options: RequestOptions = field(default_factory=RequestOptions)

    def request(self, role: str, prompt: str, system: str | None = None) -> CompletionRequest:
        """A request for ``role`` on this context's item and model, with the item's options."""
        options = self.options
        return CompletionRequest(
            item_id=self.item_id,
            model=self.model,
            prompt=prompt,
            system=system,
            role=role,
            max_output_tokens=self.max_output_tokens,
            messages=options.messages,
            tools=options.tools,
            tool_choice=options.tool_choice,
            response_format=options.response_format,
            temperature=options.temperature,
            stop=options.stop,
            seed=options.seed,
            user=options.user,
        )


@dataclass(frozen=True, kw_only=True)
class TeamOutcome:
    """The team's final answer and every call it paid for."""

    #: The answer to score.
    final: Completion
    #: All completions, in call order (the final one included).
    calls: tuple[Completion, ...]
    #: Further answers to the same task by the same model (self-consistency), for the scorer.
    samples: tuple[Completion, ...] = ()


@runtime_checkable
class TeamStrategy(Protocol):
    """Composes provider calls into one attempt."""

    #: Number of agents.
    size: int

    async def run(self, context: TeamContext) -> TeamOutcome:
        """Work the item once and return the final answer."""
        ...


class SingleAgent:
    """One agent answers the task directly."""

    size = 1

    async def run(self, context: TeamContext) -> TeamOutcome:
        answer = await context.call(context.request("agent", context.prompt))
        return TeamOutcome(final=answer, calls=(answer,))


class SampledAgent:
    """One agent answers ``k`` times (self-consistency); the first answer is the one kept.

    Every sample is a call through ``context.call``, so the budget reserves and bills each one and
    the attempt's cost includes them all. A replay that recorded fewer samples ends the sampling early
    (the scorer says how many it could compare).
    """

    def __init__(self, k: int) -> None:
        if k < 1:
            raise ConfigError(f"must be at least 1, got {k}", field="samples")
        self.size = k

    async def run(self, context: TeamContext) -> TeamOutcome:
        first = await context.call(context.request("agent", context.prompt))
        calls = [first]
        for _ in range(self.size - 1):
            try:
                calls.append(await context.call(context.request("sample", context.prompt)))
            except MissingOutcomeError:  # a replay has no further recorded sample
                break
        return TeamOutcome(final=first, calls=tuple(calls), samples=tuple(calls[1:]))


class PlannerExecutor:
    """A planner writes a short plan; an executor answers following it."""

    size = 2

    async def run(self, context: TeamContext) -> TeamOutcome:
        plan = await context.call(
            context.request(
                "planner", context.prompt, "Write a short numbered plan for solving the task. Do not solve it."
            )
        )
        answer = await context.call(
            context.request(
                "executor", f"{context.prompt}\n\nPlan:\n{plan.text or ''}", "Solve the task following the plan."
            )
        )
        return TeamOutcome(final=answer, calls=(plan, answer))


class ArchitectExecutorReviewer:
    """An architect designs, an executor answers, a reviewer checks and returns the final answer."""

    size = 3

    async def run(self, context: TeamContext) -> TeamOutcome:
        design = await context.call(
            context.request("architect", context.prompt, "Describe the approach and the pitfalls. Do not solve it.")
        )
        draft = await context.call(
            context.request("executor", f"{context.prompt}\n\nApproach:\n{design.text or ''}", "Solve the task.")
        )
        review = await context.call(
            context.request(
                "reviewer",
                f"{context.prompt}\n\nProposed answer:\n{draft.text or ''}",
                "Check the proposed answer. Reply with the corrected final answer only, in the form the task asks.",
            )
        )
        return TeamOutcome(final=review, calls=(design, draft, review))


_TEAMS: dict[int, type[SingleAgent] | type[PlannerExecutor] | type[ArchitectExecutorReviewer]] = {
    1: SingleAgent,
    2: PlannerExecutor,
    3: ArchitectExecutorReviewer,
}


def default_team(size: int) -> TeamStrategy:
    """The seed's team for ``size`` agents (1, 2 or 3)."""
    try:
        return _TEAMS[size]()
    except KeyError:
        raise ConfigError(f"no built-in team of {size} agents (1, 2 or 3)", field="team_size") from None
