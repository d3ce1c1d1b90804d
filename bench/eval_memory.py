"""Peak memory (and wall time) of evaluating routellm-mmlu with every built-in policy.

    .venv/bin/python -m bench.eval_memory

Each measurement runs in a fresh process so that peak resident memory (``ru_maxrss``) belongs to it
alone: (1) importing escalade and loading the 14,042 rows, (2) the whole ``escalade eval`` of every
built-in policy. The difference is what evaluating adds on top of holding the data.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from bench._common import dataset_dir, write_result

_LOAD = """
import resource, sys, time
started = time.perf_counter()
from escalade.replay import load_dataset
from escalade.replay import Outcomes
dataset = load_dataset(sys.argv[1])
outcomes = Outcomes.from_rows(dataset, dataset.rows("all"))
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

_EVAL = """
import resource, sys, time
started = time.perf_counter()
from escalade.replay import load_dataset
from escalade.evaluation import builtin_policies
from escalade.evaluation import evaluate
from escalade.replay import Outcomes
dataset = load_dataset(sys.argv[1])
outcomes = Outcomes.from_rows(dataset, dataset.rows("all"))
report = evaluate(builtin_policies(outcomes), outcomes, dataset="routellm-mmlu", split="all")
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _measure(code: str, path: str) -> dict[str, Any]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, check=True).stdout
    seconds, max_rss_kib = out.split()
    return {
        "seconds": round(float(seconds), 2),
        "process_seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mib": round(int(max_rss_kib) / 1024, 1),
    }


def main() -> None:
    path = str(dataset_dir("routellm-mmlu"))
    load = _measure(_LOAD, path)
    full = _measure(_EVAL, path)
    write_result(
        "eval_memory",
        {
            "dataset": "routellm-mmlu",
            "rows": 14_042,
            "load_only": load,
            "eval_all_policies": full,
            "eval_adds_mib": round(full["peak_rss_mib"] - load["peak_rss_mib"], 1),
        },
    )


if __name__ == "__main__":
    main()
