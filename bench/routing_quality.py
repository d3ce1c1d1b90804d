"""Routing quality: every built-in policy on the four shared datasets, with the peer metrics.

    .venv/bin/python -m bench.routing_quality

Writes bench/results/routing_quality.json: per dataset, every policy's headline figures and the best
run-time policy (oracle excluded) by savings at 95% of premium quality, then by AIQ.
"""

from __future__ import annotations

import time
from typing import Any

from bench._common import DATASETS, dataset_dir, write_result
from escalade.evaluation import PolicyReport, builtin_policies, evaluate
from escalade.replay import Outcomes, load_dataset

TARGET = 0.95
#: Cost budgets (share of premium-only cost) at which the best reachable quality is reported.
BUDGETS = (0.10, 0.15)
#: Published figures on the same data (RouteLLM, Ong et al. 2024), savings at 95% of GPT-4 quality.
PUBLISHED = {"routellm-mmlu": 0.45, "routellm-gsm8k": 0.35}


def _best(policies: list[PolicyReport]) -> PolicyReport:
    runtime = [p for p in policies if p.kind != "oracle"]
    return max(runtime, key=lambda p: (p.savings_at_target if p.savings_at_target is not None else -1.0, p.aiq or 0))


def _best_within(policies: list[PolicyReport], budget: float) -> dict[str, Any] | None:
    """The run-time operating point with the highest quality costing at most ``budget`` of premium."""
    points = [
        (point.quality, -point.cost_ratio, p.name, point.cost_ratio)
        for p in policies
        if p.kind != "oracle"
        for point in (p.curve or [])
    ]
    points += [(p.quality, -p.cost_ratio, p.name, p.cost_ratio) for p in policies if p.kind != "oracle" and not p.curve]
    within = [pt for pt in points if pt[3] <= budget + 1e-12]
    if not within:
        return None
    quality, _, name, cost_ratio = max(within)
    return {"policy": name, "quality": quality, "cost_ratio": cost_ratio}


def _dataset(name: str, split: str) -> dict[str, Any]:
    dataset = load_dataset(dataset_dir(name))
    outcomes = Outcomes.from_rows(dataset, dataset.rows(split))
    train = Outcomes.from_rows(dataset, dataset.rows("train")) if "train" in dataset.splits else None
    started = time.perf_counter()
    report = evaluate(builtin_policies(outcomes, train=train), outcomes, dataset=name, split=split, target=TARGET)
    seconds = time.perf_counter() - started
    best = _best(report.policies)
    oracle = next(p for p in report.policies if p.kind == "oracle")
    return {
        "split": split,
        "rows": report.rows,
        "premium_model": report.premium_model,
        "premium_quality": report.premium_quality,
        "eval_seconds": round(seconds, 2),
        "best_policy": best.name,
        "best_savings_at_target": best.savings_at_target,
        "best_aiq": best.aiq,
        "best_quality": best.quality,
        "best_cost_ratio": best.cost_ratio,
        "best_strong_share": best.strong_share,
        "best_quality_within_budget": {f"{b:.2f}": _best_within(report.policies, b) for b in BUDGETS},
        "oracle_savings_at_target": oracle.savings_at_target,
        "published_savings_at_target": PUBLISHED.get(name),
        "policies": [
            {key: value for key, value in p.to_dict().items() if key not in {"curve", "quality_ci95", "cost_usd_ci95"}}
            for p in report.policies
        ],
    }


def main() -> None:
    results = {name: _dataset(name, split) for name, split in DATASETS.items()}
    write_result("routing_quality", {"target_quality": TARGET, "datasets": results})


if __name__ == "__main__":
    main()
