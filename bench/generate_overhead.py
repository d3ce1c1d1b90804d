"""The one-call API's own overhead: ``Escalade.generate`` against a provider that answers at once.

    .venv/bin/python -m bench.generate_overhead

Everything but the provider call is timed: preferences, routing (triggers, classifier, context
analysis), the cache-aware model order, the budget reservation and settlement on a ledger in
memory, the one-item cascade run (the same ``ProgressiveExecutor`` loop as batch runs), scoring
and the result. The provider is a ``FunctionProvider`` returning a fixed answer (its own time, a
few microseconds, is included, so the figures are an upper bound of the overhead); the scorer
accepts every answer, so each request makes one attempt.

Prompts: the first GSM8K prompts of the shared data, cycled. Each call is timed alone with
``perf_counter_ns``; a run is ``CALLS`` calls after ``WARMUP`` untimed ones; figures are the
medians over ``RUNS`` runs of each run's p50 and p99. Beside wall time, each call's thread CPU
time is kept (``cpu_*``): on a shared machine the wall-time tail is mostly time the process was
not running at all (the load average is recorded with the figures). Measured three ways: ``generate`` (blocking,
the object's own event loop), ``agenerate`` awaited in one loop, and the routing decision alone.
Goal (issue 15): p50 ≤ 1 ms and p99 ≤ 5 ms in-process.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench._common import dataset_dir, write_result
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.pipeline import Escalade
from escalade.providers import CompletionRequest, CostEstimate, FunctionProvider
from escalade.quality import FailureAnalysis, ScoringContext
from escalade.replay import load_dataset

CALLS = 2_000
WARMUP = 200
RUNS = 5
PROMPTS = 200
GOAL = {"p50_ms": 1.0, "p99_ms": 5.0}
_ACCEPT = FailureAnalysis(signals={"ok": 1.0}, weights={"ok": 1.0})


class _Free:
    """Every request is free: the budget still reserves and settles, on a ledger in memory."""

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        return CostEstimate(expected_usd=0.0, max_usd=0.0)


def _accept(context: ScoringContext) -> FailureAnalysis:
    return _ACCEPT


def _escalade() -> Escalade:
    tiers = Ladder(
        Tier(name=name, rank=rank, models=(f"{name}-a", f"{name}-b"), threshold=0.0, min_attempts=1, team_size=1)
        for rank, name in enumerate(("cheap", "capable", "premium"))
    )
    provider = FunctionProvider(lambda request: "42")
    provider.max_call_s = 0.0  # answers at once: the cascade puts no timer on its calls
    config = EscalationConfig(tiers=tiers, max_cost=None, auto_approve_under=None)
    return Escalade(config=config, provider=provider, estimator=_Free(), scorer=_accept)


def _percentiles(samples_ns: list[int], cpu_ns: list[int]) -> dict[str, float]:
    """Wall-time p50/p99/mean, and the p50/p99 of the thread's CPU time (what the call itself computed)."""
    values = np.array(samples_ns, dtype=float) / 1e6
    cpu = np.array(cpu_ns, dtype=float) / 1e6
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "mean_ms": float(values.mean()),
        "cpu_p50_ms": float(np.percentile(cpu, 50)),
        "cpu_p99_ms": float(np.percentile(cpu, 99)),
    }


def _timed(call: Callable[[str], Any], prompts: list[str]) -> dict[str, float]:
    for i in range(WARMUP):
        call(prompts[i % len(prompts)])
    samples: list[int] = []
    cpu: list[int] = []
    for i in range(CALLS):
        prompt = prompts[i % len(prompts)]
        started, computed = time.perf_counter_ns(), time.thread_time_ns()
        call(prompt)
        samples.append(time.perf_counter_ns() - started)
        cpu.append(time.thread_time_ns() - computed)
    return _percentiles(samples, cpu)


async def _timed_async(escalade: Escalade, prompts: list[str]) -> dict[str, float]:
    for i in range(WARMUP):
        await escalade.agenerate(prompts[i % len(prompts)])
    samples: list[int] = []
    cpu: list[int] = []
    for i in range(CALLS):
        prompt = prompts[i % len(prompts)]
        started, computed = time.perf_counter_ns(), time.thread_time_ns()
        await escalade.agenerate(prompt)
        samples.append(time.perf_counter_ns() - started)
        cpu.append(time.thread_time_ns() - computed)
    return _percentiles(samples, cpu)


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}


def main() -> None:
    dataset = load_dataset(dataset_dir("routellm-gsm8k"))
    prompts = [row.prompt for row in dataset.rows("all")[:PROMPTS]]
    sync_runs, async_runs, route_runs = [], [], []
    for _ in range(RUNS):
        with _escalade() as escalade:
            sync_runs.append(_timed(escalade.generate, prompts))
            route_runs.append(_timed(escalade.route, prompts))
        async_runs.append(asyncio.run(_timed_async(_escalade(), prompts)))
    sync, run_async = _median(sync_runs), _median(async_runs)
    write_result(
        "generate_overhead",
        {
            "method": (
                f"{CALLS} calls per run after {WARMUP} warm-up calls, {RUNS} runs, medians of each run's "
                f"percentiles; {PROMPTS} GSM8K prompts cycled; instant FunctionProvider, accept-all scorer"
            ),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "generate": sync,
            "agenerate": run_async,
            "route_only": _median(route_runs),
            "runs": {"generate": sync_runs, "agenerate": async_runs},
            "goal": GOAL,
            "meets_goal": {
                "generate": sync["p50_ms"] <= GOAL["p50_ms"] and sync["p99_ms"] <= GOAL["p99_ms"],
                "agenerate": run_async["p50_ms"] <= GOAL["p50_ms"] and run_async["p99_ms"] <= GOAL["p99_ms"],
            },
        },
    )


if __name__ == "__main__":
    main()
