"""The soak's figures from the client log: windows around each fault, phases, causes and percentiles.

Pure functions of the records (tested in ``tests/bench/test_soak.py``). Times are seconds after
the run's origin; a request belongs to the window its *due* time falls in (see the package
docstring for the definitions of faults, windows and phases).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.soak._traffic import Record

__all__ = ["BUDGET_REFUSAL", "Fault", "Window", "percentile", "phases", "summarise", "timeline", "windows"]

#: The cause of a request refused by a workspace's cap (what the caps are set to cause).
BUDGET_REFUSAL = "HTTP 402 budget_exceeded/budget_exceeded"


@dataclass(frozen=True, kw_only=True)
class Fault:
    """One fault: when it was injected and when the service was whole again."""

    name: str
    start_s: float
    recovered_s: float


@dataclass(frozen=True, kw_only=True)
class Window:
    """A half-open interval ``[start_s, end_s)`` of due times."""

    name: str
    start_s: float
    end_s: float

    def holds(self, t: float) -> bool:
        return self.start_s <= t < self.end_s

    def as_dict(self) -> dict[str, Any]:
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3)}


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0–100) of ``values`` by linear interpolation between ranks; ``None`` if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def windows(faults: Sequence[Fault], *, width_s: float, end_s: float) -> dict[str, Window]:
    """``<fault>.before``, ``.during`` and ``.after`` of each fault (in time order), clipped so that none
    reaches into another fault's ``during`` or past ``end_s``:

    - before: ``[max(start - width, previous fault's recovery, 0), start)``
    - during: ``[start, recovered)``
    - after: ``[recovered, min(recovered + width, next fault's start, end_s))``
    """
    ordered = sorted(faults, key=lambda f: f.start_s)
    found: dict[str, Window] = {}
    for i, fault in enumerate(ordered):
        previous = ordered[i - 1].recovered_s if i else 0.0
        following = ordered[i + 1].start_s if i + 1 < len(ordered) else end_s
        before = max(fault.start_s - width_s, previous, 0.0)
        after = min(fault.recovered_s + width_s, following, end_s)
        found[f"{fault.name}.before"] = Window(name=f"{fault.name}.before", start_s=before, end_s=fault.start_s)
        found[f"{fault.name}.during"] = Window(
            name=f"{fault.name}.during", start_s=fault.start_s, end_s=fault.recovered_s
        )
        found[f"{fault.name}.after"] = Window(
            name=f"{fault.name}.after", start_s=fault.recovered_s, end_s=max(fault.recovered_s, after)
        )
    return found


def phases(faults: Sequence[Fault], *, end_s: float) -> dict[str, Window]:
    """``[0, end_s)`` cut at the faults: ``steady.0``, ``<fault 1>``, ``steady.1``, ``<fault 2>``, ``steady.2``..."""
    ordered = sorted(faults, key=lambda f: f.start_s)
    found: dict[str, Window] = {}
    at = 0.0
    for i, fault in enumerate(ordered):
        found[f"steady.{i}"] = Window(name=f"steady.{i}", start_s=at, end_s=fault.start_s)
        found[fault.name] = Window(name=fault.name, start_s=fault.start_s, end_s=fault.recovered_s)
        at = fault.recovered_s
    found[f"steady.{len(ordered)}"] = Window(name=f"steady.{len(ordered)}", start_s=at, end_s=max(at, end_s))
    return found


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def _latencies(records: Sequence[Record]) -> dict[str, Any]:
    ok = [r.latency_s for r in records if r.cause == "ok"]
    every = [r.latency_s for r in records]
    return {
        "requests": len(records),
        "ok": len(ok),
        "ok_p50_ms": _ms(percentile(ok, 50)),
        "ok_p90_ms": _ms(percentile(ok, 90)),
        "ok_p99_ms": _ms(percentile(ok, 99)),
        "all_p50_ms": _ms(percentile(every, 50)),
        "all_p99_ms": _ms(percentile(every, 99)),
    }


def summarise(records: Iterable[Record], window: Window | None = None) -> dict[str, Any]:
    """Counts by cause, the error rate (neither ``ok`` nor a budget refusal) and the budget refusal rate,
    and latency percentiles per kind, of the records due in ``window`` (all of them when ``None``)."""
    inside = [r for r in records if window is None or window.holds(r.due_s)]
    causes = Counter(r.cause for r in inside)
    total = len(inside)
    errors = total - causes.get("ok", 0) - causes.get(BUDGET_REFUSAL, 0)
    kinds = sorted({r.kind for r in inside})
    summary: dict[str, Any] = {} if window is None else window.as_dict()
    return summary | {
        "requests": total,
        "by_cause": dict(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))),
        "error_rate": round(errors / total, 4) if total else None,
        "budget_refusal_rate": round(causes.get(BUDGET_REFUSAL, 0) / total, 4) if total else None,
        "by_kind": {kind: _latencies([r for r in inside if r.kind == kind]) for kind in kinds},
    }


def timeline(records: Iterable[Record], *, bucket_s: float, end_s: float) -> list[dict[str, Any]]:
    """Per ``bucket_s`` of due time from 0 to ``end_s``: requests, answered, refused by a cap, errors, and
    the answered ones' p50/p90 latency (every kind together)."""
    buckets: list[list[Record]] = [[] for _ in range(max(1, int(end_s // bucket_s) + 1))]
    for r in records:
        if 0 <= r.due_s <= end_s:
            buckets[int(r.due_s // bucket_s)].append(r)
    found = []
    for i, inside in enumerate(buckets):
        ok = [r.latency_s for r in inside if r.cause == "ok"]
        refused = sum(1 for r in inside if r.cause == BUDGET_REFUSAL)
        found.append(
            {
                "start_s": round(i * bucket_s, 1),
                "requests": len(inside),
                "ok": len(ok),
                "budget_refusals": refused,
                "errors": len(inside) - len(ok) - refused,
                "ok_p50_ms": _ms(percentile(ok, 50)),
                "ok_p90_ms": _ms(percentile(ok, 90)),
            }
        )
    return found
