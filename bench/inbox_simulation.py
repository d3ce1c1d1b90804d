"""A simulated team answering a long decision stream: interruptions with and without per-person preference learning.

    .venv/bin/python -m bench.inbox_simulation [--decisions 3000] [--seed 7] [--quick]

Four people own four systems and have hidden preferences (the table :data:`PEOPLE`, each a chance of
approving per kind of decision, 1 to 3 % noise on the kinds they are sure of): ana approves staging
deployments and configuration changes, bo rejects schema changes, cy approves scaling in staging,
dee is undecided about most things. Each decision of the seeded stream goes to its system's owner.
Every decision runs through the real :class:`~escalade.autonomy.EscalationEngine`, an
:class:`~escalade.inbox.Inbox` and, with learning, a :class:`~escalade.inbox.PreferenceModel`
(memory stores). An escalated decision is answered by its owner after 5 to 240 minutes, drawn from
their hidden preference; a decision that proceeds is reviewed only when drawn for the audit sample
("should it have been asked?": the owner's hidden answer). Both runs see the same decisions and the
same hidden answers, with the same profile:

- ``without_learning``: the engine alone (its own threshold learning and rate control as configured);
- ``with_learning``: the same, and ``evaluate(..., person=owner)``: an escalation may proceed on the
  owner's learned preference (α = δ = 0.05, the defaults).

Measures: ``interruptions_per_100`` (questions put to a person per 100 decisions), the share of
decisions auto-approved on a preference, and the **wrong auto-approvals**: auto-approved on a
preference although the owner's hidden answer was not an approval (count, rate, and whether the rate
is within α). ``wrong_autonomous`` counts every decision that proceeded without a person (on the
engine's own confidence or a preference) that its owner would not have approved. Two profiles are
run: ``supervised`` (high thresholds, no rate control: many questions) and ``balanced`` (the default,
whose rate control keeps the threshold's escalations near 5 %).

The JSON goes to stdout and ``bench/results/inbox_simulation.json``.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._common import write_result
from escalade.autonomy import (
    DecisionContext,
    EscalationEngine,
    MemoryAutonomyStore,
    Outcome,
    parse_decision,
    preference_metrics,
)
from escalade.inbox import Inbox, MemoryInboxStore, PreferenceModel, PreferencePolicy

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: Kinds of decision: a description template and the environment.
KINDS = {
    "staging_deploy": ("Deploy the {s} service to staging", "staging"),
    "production_deploy": ("Deploy the {s} service to production", "production"),
    "schema_change": ("Add a nullable column to the {s} table schema", "staging"),
    "config_change": ("Raise the {s} cache TTL to 10 minutes", "development"),
    "scale_staging": ("Scale the {s} workers from 4 to 6 replicas", "staging"),
    "refactor": ("Refactor the {s} retry logic into one module", "development"),
}
#: Who owns which system, and each owner's hidden chance of approving each kind.
PEOPLE: dict[str, tuple[str, dict[str, float]]] = {
    "ana": ("search", {"staging_deploy": 0.985, "config_change": 0.98, "schema_change": 0.6, "refactor": 0.7}),
    "bo": ("catalog", {"schema_change": 0.03, "staging_deploy": 0.97, "config_change": 0.75, "refactor": 0.6}),
    "cy": ("reports", {"scale_staging": 0.99, "staging_deploy": 0.8, "config_change": 0.97, "refactor": 0.5}),
    "dee": ("notifications", {"staging_deploy": 0.5, "config_change": 0.55, "schema_change": 0.4, "refactor": 0.5}),
}
#: Chance of approving a kind missing from a person's table.
DEFAULT_APPROVAL = 0.7


@dataclass(frozen=True)
class Drawn:
    """One decision of the stream, its owner, and the owner's hidden answer to it."""

    fields: dict[str, Any]
    kind: str
    owner: str
    approves: bool
    answer_after_min: float


def stream(n: int, seed: int) -> list[Drawn]:
    """``n`` decisions, each kind and owner equally likely, with the owners' hidden answers."""
    rng = random.Random(seed)
    drawn = []
    for i in range(n):
        owner = rng.choice(sorted(PEOPLE))
        system, table = PEOPLE[owner]
        kind = rng.choice(sorted(KINDS))
        text, environment = KINDS[kind]
        approves = rng.random() < table.get(kind, DEFAULT_APPROVAL)
        fields = {"id": f"d{i}", "description": text.format(s=system), "environment": environment}
        drawn.append(Drawn({**fields, "affected_systems": [system]}, kind, owner, approves, rng.uniform(5, 240)))
    return drawn


def _run(decisions: list[Drawn], *, profile: str, learning: bool, seed: int) -> dict[str, Any]:
    """One pass of the team over ``decisions``."""
    now, lag = [START], [timedelta(0)]
    inbox_store = MemoryInboxStore()
    policy = PreferencePolicy()
    engine = EscalationEngine(
        MemoryAutonomyStore(),
        profile=profile,
        preferences=PreferenceModel(inbox_store, policy) if learning else None,
        rng=random.Random(seed),
    )
    inbox = Inbox(inbox_store, engine, clock=lambda: now[0] + lag[0])
    asked: Counter[str] = Counter()
    on_preference: Counter[str] = Counter()
    wrong_preference = wrong_autonomous = forced = late_asked = 0
    late = len(decisions) - len(decisions) // 3
    started = time.perf_counter()
    for i, d in enumerate(decisions):
        now[0] += timedelta(minutes=15)
        decision = parse_decision(d.fields)
        context = DecisionContext(now=now[0])
        result = engine.evaluate(decision, context, person=d.owner if learning else None)
        if result.should_escalate:
            asked[d.owner] += 1
            forced += result.forced or bool(result.rule_hits)
            late_asked += i >= late
            inbox.escalated(result, decision, assignees=[d.owner])
            lag[0] = timedelta(minutes=d.answer_after_min)
            inbox.respond(d.fields["id"], {"action": "approve" if d.approves else "reject", "by": d.owner})
            lag[0] = timedelta(0)
            continue
        wrong_autonomous += not d.approves
        if result.auto_approved_by is not None:
            on_preference[d.kind] += 1
            wrong_preference += not d.approves
        if result.audit_sampled:
            engine.record_outcome(d.fields["id"], Outcome(should_have_escalated=not d.approves), at=now[0])
    n, auto = len(decisions), sum(on_preference.values())
    metrics = preference_metrics(engine.store.decisions("default"), engine.store.audit_entries())
    rate = round(wrong_preference / auto, 4) if auto else None
    return {
        "interruptions": sum(asked.values()),
        "interruptions_per_100": round(100 * sum(asked.values()) / n, 2),
        "interruptions_by_person": dict(sorted(asked.items())),
        "interruptions_forced": forced,
        "interruptions_per_100_last_third": round(100 * late_asked / (n - late), 2),
        "auto_approved_on_preference": auto,
        "auto_approved_on_preference_share": round(auto / n, 4),
        "auto_approved_on_preference_by_kind": dict(sorted(on_preference.items())),
        "wrong_auto_approvals": wrong_preference,
        "wrong_auto_approval_rate": rate,
        "wrong_auto_approvals_within_alpha": rate is None or rate <= policy.alpha,
        "wrong_autonomous": wrong_autonomous,
        "audited_preference_error_rate": metrics.audited_error_rate,
        "audited_preference_sample": metrics.audited_sample,
        "seconds_per_decision": round((time.perf_counter() - started) / n, 6),
    }


def _scenario(decisions: list[Drawn], profile: str, seed: int) -> dict[str, Any]:
    without = _run(decisions, profile=profile, learning=False, seed=seed)
    with_learning = _run(decisions, profile=profile, learning=True, seed=seed)
    return {
        "without_learning": without,
        "with_learning": with_learning,
        "interruptions_saved_per_100": round(
            without["interruptions_per_100"] - with_learning["interruptions_per_100"], 2
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 600 decisions, supervised only")
    parser.add_argument("--long", type=int, default=0, metavar="N", help="also N decisions, supervised only")
    args = parser.parse_args()
    n = 600 if args.quick else args.decisions
    decisions = stream(n, args.seed)
    policy = PreferencePolicy()
    profiles = ("supervised",) if args.quick else ("supervised", "balanced")
    longer = (
        {
            "long_supervised": {
                "decisions": args.long,
                **_scenario(stream(args.long, args.seed), "supervised", args.seed),
            }
        }
        if args.long > 0
        else {}
    )
    write_result(
        "inbox_simulation",
        {
            "decisions": n,
            "seed": args.seed,
            "alpha": policy.alpha,
            "delta": policy.delta,
            "min_similar_answers": policy.min_answers(),
            "window": policy.window,
            "hidden_approval_by_kind": {p: table for p, (_, table) in PEOPLE.items()},
            "owner_approval_share": round(sum(d.approves for d in decisions) / n, 4),
            "profiles": {p: _scenario(decisions, p, args.seed) for p in profiles},
            **longer,
        },
    )


if __name__ == "__main__":
    main()
