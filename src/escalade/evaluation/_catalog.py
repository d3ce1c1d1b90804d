"""The built-in policies of ``escalade eval``, by name."""

from __future__ import annotations

from collections.abc import Sequence

from escalade.evaluation._certified import CertifiedCascadePolicy
from escalade.evaluation._learned import (
    ChainCascadePolicy,
    PreRouterPolicy,
    VerifierCascadePolicy,
    efficient_chain,
    fold_plan,
    pick_cheap,
)
from escalade.evaluation._policies import CascadePolicy, OraclePolicy, Policy, RandomMixPolicy, SingleModelPolicy
from escalade.exceptions import ConfigError
from escalade.replay import Outcomes
from escalade.routing.learned import MiniLMEmbedder, embeddings_available

__all__ = ["builtin_policies", "select_policies"]


def builtin_policies(outcomes: Outcomes, *, train: Outcomes | None = None, seed: int = 0) -> list[Policy]:
    """Every single model, the random mix, the oracle, the core cascade and the learned policies.

    Learned policies are fitted on ``train`` when given, else cross-fitted over ``outcomes``.
    """
    policies: list[Policy] = [SingleModelPolicy(model) for model in outcomes.models]
    policies += [
        RandomMixPolicy(outcomes.models[0], outcomes.premium, seed=seed),
        OraclePolicy(outcomes),
        CascadePolicy(),
    ]
    folds = fold_plan(outcomes, train, seed=seed)
    reference = train if train is not None else outcomes
    cheap = pick_cheap(reference)
    policies += [
        PreRouterPolicy(folds, cheap=cheap, premium=outcomes.premium, seed=seed),
        VerifierCascadePolicy(folds, cheap=cheap, premium=outcomes.premium, seed=seed),
        CertifiedCascadePolicy(folds, cheap=cheap, premium=outcomes.premium, seed=seed),
    ]
    if len(outcomes.models) > 2:
        policies.append(ChainCascadePolicy(folds, chain=efficient_chain(reference), seed=seed))
    return policies


#: Policies run only when named, because they need an optional extra.
EXTRA_POLICIES = {"prerouter-minilm-lr": "embeddings"}


def _extra_policy(name: str, outcomes: Outcomes, train: Outcomes | None, seed: int) -> Policy:
    if not embeddings_available():
        raise ConfigError(
            f"policy {name!r} needs the {EXTRA_POLICIES[name]} extra: pip install 'escalade[embeddings]'",
            field="policy",
        )
    reference = train if train is not None else outcomes
    return PreRouterPolicy(
        fold_plan(outcomes, train, seed=seed),
        cheap=pick_cheap(reference),
        premium=outcomes.premium,
        seed=seed,
        name=name,
        embedder=MiniLMEmbedder(),
    )


def select_policies(
    outcomes: Outcomes, names: Sequence[str], *, train: Outcomes | None = None, seed: int = 0
) -> list[Policy]:
    """The built-ins named in ``names`` (all of them when empty), in the order given.

    Policies that need an optional extra (:data:`EXTRA_POLICIES`) run only when named.
    """
    available: dict[str, Policy] = {p.name: p for p in builtin_policies(outcomes, train=train, seed=seed)}
    if not names:
        return list(available.values())
    unknown = [n for n in names if n not in available and n not in EXTRA_POLICIES]
    if unknown:
        listed = [*available, *(f"{n} (needs the {extra} extra)" for n, extra in EXTRA_POLICIES.items())]
        raise ConfigError(f"unknown policy {unknown[0]!r}; available: {', '.join(listed)}", field="policy")
    return [available[n] if n in available else _extra_policy(n, outcomes, train, seed) for n in dict.fromkeys(names)]
