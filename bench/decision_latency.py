"""Decision latency: one routing decision in-process, and the cascade's own overhead per item.

    .venv/bin/python -m bench.decision_latency

1. The full route decision (``Router.route``: trigger detection, the learned router as classifier,
   workspace bounds; no files to analyse) on GSM8K's 1,319 prompts, and on their first sentences as
   short one-line task descriptions; each decision timed alone, passes repeated past 10,000.
2. The learned gain router fitted on half of routellm-mmlu decides every one of its 14,042 prompts
   one at a time (``CompiledGainRouter.route``); each decision is timed alone (p50, p99, mean in µs).
   The same router through scikit-learn (``GainRouter.priority([prompt])``) is timed side by side on
   the first 2,000 prompts, and the batch path gives the amortised cost per prompt.
3. Cascade overhead: ``ProgressiveExecutor`` over 2,000 items with a provider that answers at once
   (no provider time), with an accept-all scorer (one attempt per item) and with the default
   consensus scorer (lone answers climb: several attempts per item). Median of 5 runs.
"""

from __future__ import annotations

import re
import statistics
import time
from typing import Any

import numpy as np

from bench._common import dataset_dir, write_result
from escalade.cascade import ProgressiveExecutor, WorkItem
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.providers import CompletionRequest, CostEstimate, FunctionProvider
from escalade.quality import ConsensusScorer, FailureAnalysis, ScoringContext
from escalade.replay import Outcomes, load_dataset
from escalade.routing import LearnedClassifier, Router, Task, WorkspacePreferences
from escalade.routing.learned import GainRouter

SLOW_PATH_PROMPTS = 2_000
ROUTE_DECISIONS = 10_000
_FIRST_SENTENCE = re.compile(r"[^.?!]*[.?!]?", re.DOTALL)
CASCADE_ITEMS = 2_000
REPEATS = 5


def _micros(samples_ns: list[int]) -> dict[str, float]:
    values = np.array(samples_ns, dtype=float) / 1_000
    return {
        "decisions": len(values),
        "p50_us": round(float(np.percentile(values, 50)), 2),
        "p99_us": round(float(np.percentile(values, 99)), 2),
        "mean_us": round(float(values.mean()), 2),
    }


def _route() -> dict[str, Any]:
    dataset = load_dataset(dataset_dir("routellm-gsm8k"))
    outcomes = Outcomes.from_rows(dataset, dataset.rows("all"))
    router = GainRouter.fit(
        outcomes.subset(np.arange(0, len(outcomes), 2)), cheap=outcomes.models[0], premium=outcomes.premium
    )
    cutoff = float(np.median(router.priority(list(outcomes.prompts))))
    ladder = Ladder(
        [
            Tier(name="cheap", rank=0, models=(outcomes.models[0],)),
            Tier(name="premium", rank=1, models=(outcomes.premium,)),
        ]
    )
    routing = Router(
        ladder,
        classifier=LearnedClassifier(router.compile(), cutoff),
        preferences=WorkspacePreferences(max_tier="premium"),
        analyzer=None,
    )
    full = [Task(prompt) for prompt in outcomes.prompts]
    # short prompts: each prompt's first sentence, the length of a one-line task description
    short = [Task(_FIRST_SENTENCE.match(prompt).group(0)) for prompt in outcomes.prompts]  # type: ignore[union-attr]
    return {
        "dataset": "routellm-gsm8k",
        "full_prompts": {
            "prompt_chars_median": int(np.median([len(t.description) for t in full])),
            **_micros(_time_routes(routing, full)),
        },
        "short_prompts": {
            "prompt_chars_median": int(np.median([len(t.description) for t in short])),
            **_micros(_time_routes(routing, short)),
        },
    }


def _time_routes(routing: Router, tasks: list[Task]) -> list[int]:
    samples: list[int] = []
    while len(samples) < ROUTE_DECISIONS:
        for task in tasks:
            started = time.perf_counter_ns()
            routing.route(task)
            samples.append(time.perf_counter_ns() - started)
    return samples


def _routing() -> dict[str, Any]:
    dataset = load_dataset(dataset_dir("routellm-mmlu"))
    outcomes = Outcomes.from_rows(dataset, dataset.rows("all"))
    train = outcomes.subset(np.arange(0, len(outcomes), 2))
    router = GainRouter.fit(train, cheap=outcomes.models[0], premium=outcomes.premium)
    compiled = router.compile()
    prompts = list(outcomes.prompts)
    cutoff = float(np.median(router.priority(prompts)))
    fast: list[int] = []
    for prompt in prompts:
        started = time.perf_counter_ns()
        compiled.route(prompt, cutoff)
        fast.append(time.perf_counter_ns() - started)
    slow: list[int] = []
    for prompt in prompts[:SLOW_PATH_PROMPTS]:
        started = time.perf_counter_ns()
        router.priority([prompt])
        slow.append(time.perf_counter_ns() - started)
    started = time.perf_counter_ns()
    router.priority(prompts)
    batch_us = (time.perf_counter_ns() - started) / 1_000 / len(prompts)
    compiled_stats, sklearn_stats = _micros(fast), _micros(slow)
    return {
        "dataset": "routellm-mmlu",
        "prompt_chars_median": int(np.median([len(p) for p in prompts])),
        "compiled_route": compiled_stats,
        "sklearn_single_prompt": sklearn_stats,
        "sklearn_batch_per_prompt_us": round(batch_us, 2),
        "p50_ratio_sklearn_over_compiled": round(sklearn_stats["p50_us"] / compiled_stats["p50_us"], 1),
    }


class _Instant(FunctionProvider):
    """Answers at once, free; bounds are exact so the budget guard never stops the run."""

    max_call_s = 0.0  # in memory, like the replay provider: no per-call timer

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        return CostEstimate(expected_usd=0.0, max_usd=0.0)


def _accept(_context: ScoringContext) -> FailureAnalysis:
    return FailureAnalysis(test_pass_rate=1.0, weights={"test_pass_rate": 1.0})


def _cascade(scorer: Any) -> dict[str, Any]:
    ladder = Ladder(
        [
            Tier(name="cheap", rank=0, models=("c1", "c2"), threshold=75, min_attempts=2),
            Tier(name="capable", rank=1, models=("m1",), threshold=85),
            Tier(name="premium", rank=2, models=("p1",), threshold=90),
        ]
    )
    config = EscalationConfig(tiers=ladder, max_cost=None, auto_approve_under=None)
    items = [WorkItem(id=str(i), prompt=f"question {i}", task_kind="multiple-choice") for i in range(CASCADE_ITEMS)]
    per_item: list[float] = []
    attempts = 0
    for _ in range(REPEATS):
        executor = ProgressiveExecutor(config, _Instant(lambda request: "A"), scorer=scorer, workflow="bench")
        started = time.perf_counter()
        result = executor.run_sync(items)
        per_item.append((time.perf_counter() - started) / CASCADE_ITEMS * 1e6)
        attempts = sum(len(t.attempts) for item in result.items for t in item.tiers)
    return {
        "items": CASCADE_ITEMS,
        "attempts_per_item": attempts / CASCADE_ITEMS,
        "median_us_per_item": round(statistics.median(per_item), 1),
        "median_us_per_attempt": round(statistics.median(per_item) * CASCADE_ITEMS / attempts, 1),
        "runs_us_per_item": [round(v, 1) for v in per_item],
    }


def main() -> None:
    write_result(
        "decision_latency",
        {
            "route_decision": _route(),
            "routing": _routing(),
            "cascade_overhead": {
                "accept_first_answer": _cascade(_accept),
                "consensus_scorer": _cascade(ConsensusScorer()),
            },
        },
    )


if __name__ == "__main__":
    main()
