"""Logged runs as labelled history, so that routers learn from what really happened.

Each finished item of a stored run becomes a row: its prompt, whether its first tier passed (the
cheap tier sufficed), and whether its top tier passed where it got there. The first and top tiers
play the cheap and premium "models". A logged cascade only reaches the top tier for items that
climbed, so premium outcomes are known for those items alone. Fit with
``GainRouter.fit(..., partial=True)``, which lets each classifier learn from the rows where its
own tier ran.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from escalade.exceptions import ConfigError
from escalade.providers.pricing import ModelPrice
from escalade.replay import Outcomes
from escalade.store import LoggedItem

__all__ = ["outcomes_from_logs"]


def outcomes_from_logs(items: Sequence[LoggedItem], *, task_kind: str = "free-text") -> Outcomes:
    """Two-column outcomes (first tier, top tier) of logged items, named after the commonest ladder."""
    usable = [item for item in items if len(item.tier_names) >= 2]
    if not usable:
        raise ConfigError("no logged items with a prompt on a ladder of two or more tiers", field="store")
    first, top = Counter((i.tier_names[0], i.tier_names[-1]) for i in usable).most_common(1)[0][0]
    scores = np.full((len(usable), 2), np.nan)
    costs = np.full((len(usable), 2), np.nan)
    responses: list[tuple[str | None, ...]] = []
    for row, item in enumerate(usable):
        texts: list[str | None] = []
        for col, tier in enumerate((item.tier_names[0], item.tier_names[-1])):
            outcome = item.tiers.get(tier)
            if outcome is not None:
                scores[row, col] = 1.0 if outcome.passed else 0.0
                costs[row, col] = outcome.cost_usd
            texts.append(outcome.answer if outcome is not None else None)
        responses.append(tuple(texts))
    return Outcomes(
        keys=tuple(f"{i.run_id}/{i.item_id}" for i in usable),
        prompts=tuple(i.prompt for i in usable),
        task_kind=task_kind,
        models=(first, top),
        prices={tier: ModelPrice(input_usd_per_mtok=0.0, output_usd_per_mtok=0.0) for tier in (first, top)},
        scores=scores,
        costs=costs,
        responses=tuple(responses),
    )
