"""Seed 002's names, as thin aliases of :class:`~escalade.pipeline.Escalade` (no second implementation).

======================================  ================================================================
seed 002                                escalade
======================================  ================================================================
``CognitiveTierService(workspace_id,    an :class:`Escalade` of that workspace, over the store
db_session)``                           (``db_session``: a :class:`~escalade.store.SqlStore` or ``None``)
``select_tier(prompt, task_type,        :meth:`Escalade.route`: override > workspace default tier >
user_tier_override)``                   classification, then the workspace's min/max bounds
``get_optimal_model(tier, tokens,       the tier's models ranked by :class:`~escalade.routing.CacheAwareRouter`,
requires_tools)``                       preferred providers first
``calculate_request_cost(prompt, tier,  :meth:`CacheAwareRouter.calculate_request_cost`, in cents too
model)``
``check_budget_constraint(cents)``      the workspace's per-request and monthly caps on its ledger
``handle_escalation(tier, quality,      the cascade's climbing rule (:func:`~escalade.cascade.next_tier`)
error, rate_limited, request_id)``      under the workspace's auto-escalation and bounds
``get_workspace_preference()``          :attr:`Escalade.preferences` (``None`` when none are set)
``generate_with_cognitive_tier(...)``   :meth:`Escalade.agenerate`, answered as the seed's dict
======================================  ================================================================

>>> service = CognitiveTierService("default")
>>> service.select_tier("Fix a typo in the README", "docs")
'cheap'
>>> service.handle_escalation("cheap", 40.0, None, False, "r1")
'capable'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from escalade.cascade import WorkItem, next_tier
from escalade.exceptions import BudgetExceededError, ConfigError
from escalade.ladder import EscalationConfig, Ladder
from escalade.pipeline._escalade import Escalade
from escalade.providers import Completion, CompletionRequest, CostEstimate, Message, Provider
from escalade.routing import WorkspacePreferences

__all__ = ["CognitiveTierService", "generate_with_cognitive_tier"]


class _NoProvider(Provider):
    """Stands in when the service is built only to route and price (seed 002's constructor takes no provider)."""

    max_call_s = 0.0

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        return CostEstimate(expected_usd=0.0, max_usd=0.0)

    async def complete(self, request: CompletionRequest) -> Completion:
        raise ConfigError(
            "this CognitiveTierService has no provider: pass provider=... (or escalade=Escalade(...)) to generate",
            field="provider",
        )


class CognitiveTierService:
    """Seed 002's service over one :class:`Escalade` (``self.escalade``), which does all the work.

    ``classifier``, ``cache_router`` and ``escalation_manager`` are the router's classifier, the
    cache-aware router and the cascade's executor (the one escalation loop).
    """

    def __init__(
        self,
        workspace_id: str = "default",
        db_session: Any | None = None,
        *,
        escalade: Escalade | None = None,
        provider: Provider | None = None,
        config: EscalationConfig | None = None,
        preferences: WorkspacePreferences | None = None,
    ) -> None:
        self.workspace_id = workspace_id
        self.db = db_session
        if escalade is None:
            escalade = Escalade(
                db_session,
                workspace_id,
                config or _priced_config(),
                provider=provider or _NoProvider(),
                preferences=preferences,
            )
        self.escalade = escalade
        self.classifier = escalade.router.classifier
        self.cache_router = escalade.cache_router
        self.escalation_manager = escalade.executor

    def get_workspace_preference(self) -> WorkspacePreferences | None:
        """The workspace's preferences, ``None`` when it has none (the defaults apply)."""
        prefs = self.escalade.preferences
        return None if prefs == WorkspacePreferences() else prefs

    def select_tier(self, prompt: str, task_type: str | None = None, user_tier_override: str | None = None) -> str:
        """The start tier: override > the workspace's default tier > classification, within min/max."""
        return self.escalade.route(prompt, task_type=task_type, tier=user_tier_override).tier

    def get_optimal_model(
        self, tier: str, estimated_tokens: int, requires_tools: bool = False, *, prompt: str | None = None
    ) -> tuple[str, str] | None:
        """``(provider_id, model)``: the tier's cheapest model with warm caches counted, preferred providers first.

        ``None`` when the tier has no models. ``requires_tools`` is accepted for the seed's signature:
        every model of a tier is taken to support tools.
        """
        ladder = self.escalade.config.tiers
        found = ladder[tier]
        if not found.models:
            return None
        text = prompt if prompt is not None else "x" * (4 * max(estimated_tokens, 0))
        ranked = self.escalade.preferences.order_models(self.cache_router.rank_models(found, text))
        model = ranked[0]
        provider_id = getattr(self.escalade.provider, "provider_id", None) or model.partition("/")[0]
        return provider_id, model

    def calculate_request_cost(self, prompt: str, tier: str, model: str | None = None) -> dict[str, Any]:
        """Full and effective cost with the expected cache discount (USD, and ``cost_cents`` as the seed)."""
        found = self.escalade.config.tiers[tier]
        if model is None:
            choice = self.get_optimal_model(tier, 0, prompt=prompt)
            if choice is None:
                raise ConfigError(f"tier {tier!r} has no models to price", field=f"{tier}.models")
            model = choice[1]
        cost = self.cache_router.calculate_request_cost(prompt, found, model)
        effective = cost.effective_cost_usd
        return {
            "model": model,
            "tier": tier,
            "estimated_tokens": cost.prompt_tokens,
            "full_cost": cost.full_cost_usd,
            "effective_cost": effective,
            "cache_discount": cost.cache_discount_usd,
            "cache_hit_probability": cost.cache_hit_probability,
            "cost_cents": None if effective is None else effective * 100,
        }

    def check_budget_constraint(self, request_cost_cents: float) -> bool:
        """Whether a request costing ``request_cost_cents`` fits the per-request cap and what is left of the month."""
        usd = request_cost_cents / 100
        budget = self.escalade.workspace_budget
        if budget.per_request_limit_usd is not None and usd > budget.per_request_limit_usd:
            return False
        if budget.monthly_limit_usd is None:
            return True
        key = budget.month_line(datetime.now(UTC))
        try:
            line = self.escalade.ledger.line(key)
        except Exception:  # a month nothing was reserved on yet: all of it is left
            return usd <= budget.monthly_limit_usd
        left = line.left_usd
        return left is None or usd <= min(left, budget.monthly_limit_usd - line.spent_usd - line.reserved_usd)

    def handle_escalation(
        self,
        current_tier: str,
        response_quality: float | None = None,
        error: str | BaseException | None = None,
        rate_limited: bool = False,
        request_id: str | None = None,
    ) -> str | None:
        """The tier to climb to, or ``None``: the cascade's rule under the workspace's auto-escalation and bounds.

        It climbs on an error, on a rate limit (when ``escalate_on_rate_limit``) or on a quality
        (CQS, 0–100) below the tier's threshold.
        """
        config = self.escalade.config
        tier = config.tiers[current_tier]
        limited = rate_limited and config.escalate_on_rate_limit
        low = response_quality is not None and response_quality < tier.threshold
        if not (error is not None or limited or low):
            return None
        decision_cap = current_tier if not self.escalade.preferences.auto_escalation else None
        cap = decision_cap or self.escalade.preferences.max_tier
        item = WorkItem(id=request_id or "request", prompt="", max_tier=cap)
        found = next_tier(config, item, tier)
        return None if found is None else found.name

    async def generate_with_cognitive_tier(
        self,
        prompt: str,
        system_instruction: str = "You are a helpful assistant.",
        task_type: str | None = None,
        user_tier_override: str | None = None,
        agent_id: str | None = None,
        image_payload: str | None = None,
    ) -> dict[str, Any]:
        """Seed 002's full pipeline, as its dict: ``response``, ``tier``, ``provider``, ``model`` (and ``result``).

        A budget refusal answers ``{"error": "Budget exceeded", "tier": ...}`` as the seed does.
        ``agent_id`` and ``image_payload`` are accepted for the seed's signature and not used.
        """
        return await generate_with_cognitive_tier(
            self.escalade, prompt, system_instruction=system_instruction, task_type=task_type, tier=user_tier_override
        )


async def generate_with_cognitive_tier(
    escalade: Escalade,
    prompt: str,
    *,
    system_instruction: str | None = None,
    task_type: str | None = None,
    tier: str | None = None,
) -> dict[str, Any]:
    """One request through ``escalade``, answered as seed 002's dict."""
    messages: list[Message] = []
    if system_instruction:
        messages.append(Message(role="system", content=system_instruction))
    messages.append(Message(role="user", content=prompt))
    try:
        result = await escalade.agenerate(messages, task_type=task_type, tier=tier)
    except BudgetExceededError as exc:
        start = escalade.route(prompt, task_type=task_type, tier=tier).tier
        return {"error": "Budget exceeded", "tier": start, "detail": str(exc)}
    provider_id = getattr(escalade.provider, "provider_id", None)
    return {
        "response": result.text,
        "tier": result.tier_ended or result.tier_started,
        "provider": provider_id,
        "model": result.model,
        "result": result,
    }


def _priced_config() -> EscalationConfig:
    """The default ladder with models whose prices are known, so a service built to price requests can."""
    models = {"cheap": ("gpt-4o-mini",), "capable": ("gpt-4.1-mini",), "premium": ("gpt-4.1",)}
    return EscalationConfig(tiers=Ladder(t.with_models(models[t.name]) for t in Ladder.default()))
