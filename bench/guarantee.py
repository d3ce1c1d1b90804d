"""Guarantee check: does a certified threshold keep its promise on rows it never saw?

    .venv/bin/python -m bench.guarantee

For each shared dataset and for both the learned cascade verifier and the pre-router, a gain router
is fitted once (train split, or a third of the rows). The remaining rows are then split at random
200 times into calibration and check halves. Each time, a threshold is certified for "quality ≥ 95%
of premium quality with probability ≥ 1 − δ" (δ = 0.1) and applied to the check half. The share of
splits where the target held on the check half must be at least 1 − δ.

A split where nothing certifies escalates everything, which holds trivially. Such splits are
counted apart, so a high hit rate cannot hide a useless threshold.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench._common import DATASETS, dataset_dir, write_result
from escalade.evaluation import CalibrationTarget, calibrate_rows, prepare_rows, split_rows
from escalade.replay import load_dataset

SPLITS = 200
TARGET = CalibrationTarget(quality=0.95, delta=0.1)


def _one(name: str, cascade: bool) -> dict[str, Any]:
    rows = prepare_rows(load_dataset(dataset_dir(name)), cascade=cascade, seed=0)
    held, certified, ratios, accepted = 0, 0, [], []
    for seed in range(1, SPLITS + 1):
        calibration, check = split_rows(rows, calibration_share=0.5, seed=seed)
        outcome = calibrate_rows(calibration, check, TARGET)
        held += int(bool(outcome.held))
        if outcome.result.certified:
            certified += 1
            ratios.append(outcome.cost_ratio)
            accepted.append(outcome.accepted_share)
    return {
        "kind": "cascade" if cascade else "router",
        "cheap_model": rows.cheap,
        "scored_rows": len(rows.scores),
        "splits": SPLITS,
        "target_held_share": held / SPLITS,
        "required_share": 1 - TARGET.delta,
        "certified_share": certified / SPLITS,
        "median_cost_ratio_when_certified": round(statistics.median(ratios), 4) if ratios else None,
        "median_accepted_share_when_certified": round(statistics.median(accepted), 4) if accepted else None,
    }


def main() -> None:
    started = time.perf_counter()
    results = {name: [_one(name, cascade) for cascade in (True, False)] for name in DATASETS}
    write_result(
        "guarantee",
        {"target": TARGET.describe(), "seconds": round(time.perf_counter() - started, 1), "datasets": results},
    )


if __name__ == "__main__":
    main()
