"""Human escalation on a labelled synthetic stream: how often each policy asks, and how often it should have.

    .venv/bin/python -m bench.escalation_stream [--decisions 3000] [--seed 7]

The stream is :func:`escalade.evaluation._decision_stream.decision_stream` (see its docstring for the
hidden truth: ``needs_person`` = high stakes or the action would fail), in two mixes: ``stress``
(every scenario equally often: over half the decisions need a person) and ``routine`` (low-risk work
dominates: about one in eight needs a person). Every policy sees the same decisions. The measures use
the hidden truth, never the policy's own labels:

- ``escalation_rate``: share of decisions sent to a person;
- ``error_rate_auto``: share of auto-approved decisions that needed a person (the misses);
- ``recall``: share of the decisions that needed a person that were sent to one;
- ``unnecessary_share``: share of escalations that did not need a person.

Policies:

- ``always_ask``: every action waits (the approval-everything setting of agent frameworks).
- ``static_tool_flags``: approval required for the deployment, security and data tools, nothing else;
  what ``interrupt_before`` / ``needs_approval`` flags on risky tools amount to. It is given the
  true type, which the other policies must work out.
- ``seed_rules_stated``: the nine built-in rules evaluated on the fields the agent stated only (no
  reading of the description).
- ``escalade``: the engine with the ``balanced`` profile, from an empty history. After each decision the
  simulated person or incident reports what happened: an escalated decision gets the person's
  answer (reject if it would fail, approve otherwise, and whether asking was worth it); a decision
  that proceeded reports success or failure, and only the audit sample (5 %) is reviewed for
  "should have asked". Learning and rate control run as in production.
- ``escalade_certified``: the same engine, first run on a separate warm-up stream with a 25 % audit
  sample, then calibrated (α = 0.2, δ = 0.1, one pooled floor) on that sample only, then measured on the main stream.
  Its ``error_rate_auto`` should stay at or below α.

The JSON goes to stdout and ``bench/results/escalation_stream.json``.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

from bench._common import write_result
from escalade.autonomy import BUILTIN_RULES, EscalationEngine, MemoryAutonomyStore, Outcome, RuleSet
from escalade.evaluation import SyntheticDecision, decision_stream

RISKY_TOOLS = frozenset({"deployment", "security", "data"})
ALPHA, DELTA = 0.2, 0.1


def _measure(decisions: list[SyntheticDecision], escalated: list[bool]) -> dict[str, Any]:
    asked = sum(escalated)
    auto = [d for d, e in zip(decisions, escalated, strict=True) if not e]
    needed = [e for d, e in zip(decisions, escalated, strict=True) if d.needs_person]
    unnecessary = sum(1 for d, e in zip(decisions, escalated, strict=True) if e and not d.needs_person)
    return {
        "decisions": len(decisions),
        "escalation_rate": round(asked / len(decisions), 4),
        "error_rate_auto": round(sum(d.needs_person for d in auto) / len(auto), 4) if auto else None,
        "recall": round(sum(needed) / len(needed), 4) if needed else None,
        "unnecessary_share": round(unnecessary / asked, 4) if asked else None,
        "missed_high_stakes": sum(1 for d in auto if d.high_stakes),
        "missed_failures": sum(1 for d in auto if d.fails),
    }


def _seed_rules(d: SyntheticDecision) -> bool:
    f = d.fields
    facts = {
        "type": f.get("type"),
        "environment": f.get("environment"),
        "involves_data_deletion": f.get("involves_data_deletion", False),
        "record_count": f.get("record_count"),
        "breaking_change": f.get("breaking_change", False),
        "affects_compliance": f.get("affects_compliance", False),
        "impact": "high" if f.get("type") == "security" else None,
    }
    return bool(RuleSet(BUILTIN_RULES).evaluate(facts))


def _feedback(engine: EscalationEngine, d: SyntheticDecision, escalated: bool, sampled: bool) -> None:
    decision_id = str(d.fields["id"])
    if escalated:
        outcome = Outcome(
            response="reject" if d.fails else "approve",
            response_time_s=d.response_time_s,
            should_have_escalated=True if d.high_stakes else None,
        )
    else:
        outcome = Outcome(success=not d.fails, should_have_escalated=d.needs_person if sampled else None)
    engine.record_outcome(decision_id, outcome)


def _run_engine(engine: EscalationEngine, stream: Iterable[SyntheticDecision]) -> tuple[list[bool], float]:
    flags: list[bool] = []
    started = time.perf_counter()
    for d in stream:
        result = engine.evaluate(d.fields)
        flags.append(result.should_escalate)
        _feedback(engine, d, result.should_escalate, result.audit_sampled)
    return flags, (time.perf_counter() - started) / max(len(flags), 1)


def _policy(decisions: list[SyntheticDecision], rule: Callable[[SyntheticDecision], bool]) -> dict[str, Any]:
    return _measure(decisions, [rule(d) for d in decisions])


def _mix(mix: Literal["stress", "routine"], n: int, seed: int) -> dict[str, Any]:
    decisions = list(decision_stream(n, seed=seed, mix=mix))
    results: dict[str, Any] = {
        "always_ask": _policy(decisions, lambda d: True),
        "static_tool_flags": _policy(decisions, lambda d: d.type in RISKY_TOOLS),
        "seed_rules_stated": _policy(decisions, _seed_rules),
    }
    engine = EscalationEngine(MemoryAutonomyStore(), rng=random.Random(seed))
    flags, per_decision = _run_engine(engine, decisions)
    results["escalade"] = {**_measure(decisions, flags), "seconds_per_decision_with_feedback": round(per_decision, 6)}

    certified = EscalationEngine(MemoryAutonomyStore(), audit_rate=0.25, rng=random.Random(seed + 1))
    _run_engine(certified, decision_stream(n, seed=seed + 1000, mix=mix))
    record = certified.calibrate(alpha=ALPHA, delta=DELTA, pooled=True)
    certified.audit_rate = 0.05
    flags, _ = _run_engine(certified, decisions)
    results["escalade_certified"] = {
        **_measure(decisions, flags),
        "alpha": ALPHA,
        "delta": DELTA,
        "floors": dict(record.floors),
        "labelled": dict(record.labelled),
    }
    error = results["escalade_certified"]["error_rate_auto"]
    results["escalade_certified"]["guarantee_held"] = error is None or error <= ALPHA
    truth = {
        "needs_person_share": round(sum(d.needs_person for d in decisions) / n, 4),
        "high_stakes_share": round(sum(d.high_stakes for d in decisions) / n, 4),
        "fails_share": round(sum(d.fails for d in decisions) / n, 4),
    }
    return {"truth": truth, "policies": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    mixes = {"stress": _mix("stress", args.decisions, args.seed), "routine": _mix("routine", args.decisions, args.seed)}
    write_result("escalation_stream", {"decisions": args.decisions, "seed": args.seed, "mixes": mixes})


if __name__ == "__main__":
    main()
