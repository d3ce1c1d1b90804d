"""Human escalation against hand-labelled decisions: does escalade ask when a careful operator would?

    .venv/bin/python -m bench.escalation_labelled [--profile balanced] [--show-disagreements]

Each decision of ``bench/data/decisions_labelled.jsonl`` (see its README) is judged by a fresh engine
with an empty history, as a new workspace would. Reported: type accuracy; deletion and production
detection (true/false positives, false negatives); agreement on ``escalate``, recall of the
decisions that needed a person and the unnecessary asks among those that did not.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any

from bench._common import ROOT, write_result
from escalade.autonomy import EscalationEngine, MemoryAutonomyStore

DATA = ROOT / "bench" / "data" / "decisions_labelled.jsonl"


def _confusion(got: bool, expected: bool, counts: Counter[str]) -> None:
    counts["tp" if got and expected else "fp" if got else "fn" if expected else "tn"] += 1


def measure(profile: str, *, show: bool = False) -> dict[str, Any]:
    """The measures over the whole file."""
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    types = 0
    deletion: Counter[str] = Counter()
    production: Counter[str] = Counter()
    escalate: Counter[str] = Counter()
    for row in rows:
        result = EscalationEngine(MemoryAutonomyStore(), profile=profile).evaluate({"id": row["id"], **row["decision"]})
        expected, c = row["expected"], result.classification
        types += result.type.value == expected["type"]
        _confusion(c.deletion, expected["deletion"], deletion)
        env = c.environment.value if c.environment else None
        _confusion(env == "production", expected["environment"] == "production", production)
        _confusion(result.should_escalate, expected["escalate"], escalate)
        if show and result.should_escalate != expected["escalate"]:
            print(f"{row['id']} escalate={result.should_escalate} expected={expected['escalate']}: {result.reasons}")
    needed = escalate["tp"] + escalate["fn"]
    not_needed = escalate["fp"] + escalate["tn"]
    return {
        "profile": profile,
        "decisions": len(rows),
        "type_accuracy": round(types / len(rows), 4),
        "deletion": {k: deletion[k] for k in ("tp", "fp", "fn")},
        "production": {k: production[k] for k in ("tp", "fp", "fn")},
        "escalate_agreement": round((escalate["tp"] + escalate["tn"]) / len(rows), 4),
        "recall": f"{escalate['tp']}/{needed}",
        "unnecessary": f"{escalate['fp']}/{not_needed}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="balanced")
    parser.add_argument("--show-disagreements", action="store_true")
    args = parser.parse_args()
    write_result("escalation_labelled", measure(args.profile, show=args.show_disagreements))


if __name__ == "__main__":
    main()
