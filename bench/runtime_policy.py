"""The main job with learned run-time policies: ``escalade run`` fitted only on rows it does not decide.

    .venv/bin/python -m bench.runtime_policy

Runs the CLI itself (``escalade run DATASET ... --json``, a fresh SQLite file each) for:

- routerbench-arc ``--split test --fit-on train`` (goal: >= 95% of premium accuracy at <= 15% of its cost);
- routellm-gsm8k and routellm-mmlu ``--cross-fit 5`` (goals: save >= 45% and >= 55% at >= 95% of
  premium quality).

Quality is the run's accuracy (mean recorded grade of the final answers) over the premium model's
accuracy on the same rows; cost and savings are the run's own, against its premium-only baseline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import ROOT, dataset_dir, write_result

#: (dataset, flags, goal: minimum quality ratio, maximum cost share). ``--yes`` approves spending
#: above ``auto_approve_under`` (recorded bills, nothing is spent); the runs lift the $10 cap.
RUNS: tuple[tuple[str, tuple[str, ...], float, float], ...] = (
    ("routerbench-arc", ("--split", "test", "--fit-on", "train", "--yes"), 0.95, 0.15),
    ("routellm-gsm8k", ("--cross-fit", "5", "--yes"), 0.95, 0.55),
    ("routellm-mmlu", ("--cross-fit", "5", "--yes"), 0.95, 0.45),
)


def _run(name: str, flags: tuple[str, ...], folder: Path) -> dict[str, Any]:
    command = [str(Path(sys.executable).with_name("escalade")), "run", str(dataset_dir(name)), *flags, "--json"]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--db", str(folder / f"{name}.db")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ESCALADE_MAX_COST": "none"},
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: some items have no answer (rows without the model's outcome)
        sys.exit(f"error: {' '.join(command)} exited {done.returncode}: {done.stderr.strip()[-400:]}")
    result = json.loads(done.stdout)
    if result["status"] in ("aborted", "failed"):
        sys.exit(f"error: {' '.join(command)} ended {result['status']}: {done.stderr.strip()[-400:]}")
    metrics = result  # the run's metrics are flat in its JSON summary
    quality = metrics["accuracy"] / metrics["premium_accuracy"]
    cost_share = result["total_cost"] / result["premium_baseline_cost"]
    return {
        "command": "ESCALADE_MAX_COST=none escalade run ../shared/data/benchmarks/" + name + " " + " ".join(flags),
        "seconds": round(seconds, 1),
        "items": result["items_total"],
        "answered": result["items_answered"],
        "accuracy": round(metrics["accuracy"], 4),
        "premium_accuracy": round(metrics["premium_accuracy"], 4),
        "quality_ratio": round(quality, 4),
        "total_cost_usd": round(result["total_cost"], 6),
        "premium_baseline_usd": round(result["premium_baseline_cost"], 6),
        "cost_share": round(cost_share, 4),
        "savings_percent": round(result["cost_savings_percent"], 2),
        "policy": {k: v for k, v in metrics.items() if k.startswith("policy") or k == "target_quality"},
        "notes": result.get("notes", []),
    }


def main() -> None:
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for name, flags, min_quality, max_cost in RUNS:
            run = _run(name, flags, Path(folder))
            run["goal"] = f"quality >= {min_quality:.0%} of premium at cost <= {max_cost:.0%} of premium"
            run["goal_met"] = run["quality_ratio"] >= min_quality and run["cost_share"] <= max_cost
            runs.append(run)
    write_result("runtime_policy", {"runs": runs})


if __name__ == "__main__":
    main()
