"""Shared helpers of the benchmark scripts: where the data is, and how results are written."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BENCHMARKS = Path(os.environ.get("ESCALADE_BENCHMARKS", ROOT.parent / "shared" / "data" / "benchmarks"))

#: The shared datasets and the split each is scored on.
DATASETS = {
    "routellm-mmlu": "all",
    "routellm-gsm8k": "all",
    "routerbench-arc": "test",
    "routerbench-mbpp": "test",
}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "commit": commit,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def dataset_dir(name: str) -> Path:
    """Folder of a shared dataset; a clear exit when ../shared is missing."""
    path = BENCHMARKS / name
    if not path.is_dir():
        sys.exit(f"error: dataset {name} not found at {path} (clone ../shared beside the repository)")
    return path


def write_result(name: str, result: dict[str, Any]) -> None:
    """Print ``result`` as JSON and keep it in bench/results/<name>.json."""
    document = {"benchmark": name, "machine": machine(), **result}
    text = json.dumps(document, indent=2)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(text + "\n", encoding="utf-8")
    print(text)
