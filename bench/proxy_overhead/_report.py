"""The figures of a run: per-round added latency against the direct calls, medians over rounds, goals."""

from __future__ import annotations

import statistics
from typing import Any

__all__ = ["GOAL", "summarise"]

#: Issue 16: added latency at 100 concurrent requests, and below LiteLLM's in the same run.
GOAL = {"added_p50_ms": 2.0, "added_p99_ms": 10.0}
_FIGURES = ("p50_ms", "p99_ms", "throughput_rps", "cpu_ms_per_request", "upstream_calls_per_request")


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _with_added(rounds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each round's measurements, with each target's latency minus the direct calls' of the same round."""
    for one in rounds:
        direct = one["targets"].get("direct")
        for measured in one["targets"].values():
            if direct is None or measured.get("ok", 0) == 0 or direct.get("ok", 0) == 0:
                continue
            for q in ("p50", "p99"):
                measured[f"added_{q}_ms"] = round(measured[f"{q}_ms"] - direct[f"{q}_ms"], 3)
            measured["throughput_ratio"] = round(measured["throughput_rps"] / direct["throughput_rps"], 3)
    return rounds


def _medians(rounds: list[dict[str, Any]], target: str) -> dict[str, Any]:
    measured = [one["targets"][target] for one in rounds if target in one["targets"]]
    keys = (*_FIGURES, "added_p50_ms", "added_p99_ms", "throughput_ratio")
    found: dict[str, Any] = {}
    for key in keys:
        values = [m[key] for m in measured if m.get(key) is not None and m.get("ok", 0) > 0]
        if values:
            found[key] = _median(values)
    found["errors"] = sum(sum(m.get("errors", {}).values()) for m in measured)
    return found


def _meets(figures: dict[str, Any], litellm: dict[str, Any] | None) -> dict[str, bool | None]:
    added_p50, added_p99 = figures.get("added_p50_ms"), figures.get("added_p99_ms")
    if added_p50 is None or added_p99 is None:
        return {"p50": None, "p99": None, "below_litellm": None}
    below = None
    if litellm is not None and litellm.get("added_p50_ms") is not None:
        below = added_p50 < litellm["added_p50_ms"] and added_p99 < litellm["added_p99_ms"]
    return {"p50": added_p50 <= GOAL["added_p50_ms"], "p99": added_p99 <= GOAL["added_p99_ms"], "below_litellm": below}


def summarise(rounds: list[dict[str, Any]], targets: list[str]) -> dict[str, Any]:
    """Medians over the rounds of each target's figures, and whether escalade's meet the goal."""
    rounds = _with_added(rounds)
    medians = {target: _medians(rounds, target) for target in targets}
    litellm = medians.get("litellm")
    goals = {
        target: _meets(figures, litellm)
        for target, figures in medians.items()
        if target.startswith("escalade") and figures.get("added_p50_ms") is not None
    }
    return {"medians": medians, "meets_goal": goals, "rounds": rounds}
