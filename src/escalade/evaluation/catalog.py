"""The built-in policies of ``escalade eval``, by name."""

from __future__ import annotations

from collections.abc import Sequence

from escalade.evaluation.outcomes import Outcomes
from escalade.evaluation.policies import CascadePolicy, OraclePolicy, Policy, RandomMixPolicy, SingleModelPolicy
from escalade.exceptions import ConfigError

__all__ = ["builtin_policies", "select_policies"]


def builtin_policies(outcomes: Outcomes, *, seed: int = 0) -> list[Policy]:
    """Every single model, the random cheapest/premium mix, the oracle and the core cascade."""
    policies: list[Policy] = [SingleModelPolicy(model) for model in outcomes.models]
    policies += [
        RandomMixPolicy(outcomes.models[0], outcomes.premium, seed=seed),
        OraclePolicy(outcomes),
        CascadePolicy(),
    ]
    return policies


def select_policies(outcomes: Outcomes, names: Sequence[str], *, seed: int = 0) -> list[Policy]:
    """The built-ins named in ``names`` (all of them when empty), in the order given."""
    available = {p.name: p for p in builtin_policies(outcomes, seed=seed)}
    if not names:
        return list(available.values())
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ConfigError(f"unknown policy {unknown[0]!r}; available: {', '.join(available)}", field="policy")
    return [available[n] for n in dict.fromkeys(names)]
