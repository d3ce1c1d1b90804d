"""bench/soak's pure parts: the balancer's choice, the traffic plan, causes, windows, percentiles, summaries.

The soak itself (replicas, PostgreSQL restarts) never runs here: ``python -m bench.soak`` does.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from bench.soak._balancer import Balancer, Rotation
from bench.soak._figures import _by_line
from bench.soak._processes import cluster_on_port, free_port
from bench.soak._report import BUDGET_REFUSAL, Fault, Window, percentile, phases, summarise, timeline, windows
from bench.soak._traffic import MIX, Record, cause_of, plan


def _record(due_s: float, cause: str = "ok", *, kind: str = "chat_cheap", latency_s: float = 0.1) -> Record:
    return Record(kind=kind, workspace="w", due_s=due_s, latency_s=latency_s, status=None, cause=cause)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_rotation_goes_round_and_tries_a_refusing_replica_last_until_its_cooldown_ends() -> None:
    """Round robin; a replica that refused is tried after the others for ``cooldown_s``, then in turn again."""
    clock = _Clock()
    rotation = Rotation(3, cooldown_s=1.0, clock=clock)
    assert [rotation.order()[0] for _ in range(4)] == [0, 1, 2, 0]
    rotation.refused(2)
    assert rotation.order() == [1, 0, 2]
    assert rotation.order() == [0, 1, 2]  # 2's turn, but it is down: the others first
    clock.now = 1.5
    assert rotation.order() == [0, 1, 2]
    assert rotation.order() == [1, 2, 0]


def test_every_replica_is_still_tried_when_all_refused() -> None:
    rotation = Rotation(2, clock=_Clock())
    rotation.refused(0)
    rotation.refused(1)
    assert sorted(rotation.order()) == [0, 1]
    rotation.accepted(1)
    assert rotation.order()[0] == 1


def test_the_balancer_skips_a_replica_that_refuses_and_carries_the_bytes() -> None:
    """One backend port has nobody listening: every connection reaches the other one, both ways."""

    async def scenario() -> tuple[list[bytes], list[int], list[int]]:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"echo:" + await reader.readexactly(4))
            await writer.drain()
            writer.close()

        live = await asyncio.start_server(echo, "127.0.0.1", 0)
        live_port = live.sockets[0].getsockname()[1]
        balancer = Balancer([("127.0.0.1", free_port()), ("127.0.0.1", live_port)])
        port = free_port()
        await balancer.start(port)
        answers = []
        for _ in range(3):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"ping")
            answers.append(await reader.read())
            writer.close()
        await balancer.close()
        live.close()
        return answers, balancer.stats.connections, balancer.stats.refused

    answers, connections, refused = asyncio.run(scenario())
    assert answers == [b"echo:ping"] * 3
    assert connections == [0, 3]
    assert refused[0] >= 1


def test_the_plan_is_the_seeds_and_bounded() -> None:
    """Same seed, same plan; at most ``total`` requests, all due within the duration, every kind drawn."""
    one = plan(rps=50, duration_s=20, total=10_000, workspaces=["a", "b"], seed=3)
    assert one == plan(rps=50, duration_s=20, total=10_000, workspaces=["a", "b"], seed=3)
    assert one != plan(rps=50, duration_s=20, total=10_000, workspaces=["a", "b"], seed=4)
    assert 800 < len(one) < 1200
    assert all(0 < p.due_s < 20 for p in one)
    assert [p.due_s for p in one] == sorted(p.due_s for p in one)
    assert {p.kind for p in one} == set(MIX)
    assert {p.workspace for p in one} == {"a", "b"}
    assert len(plan(rps=50, duration_s=20, total=100, workspaces=["a"], seed=3)) == 100


@pytest.mark.parametrize(
    ("status", "body", "error", "cause"),
    [
        (200, b"{}", None, "ok"),
        (202, b"{}", None, "ok"),
        (402, b'{"error": {"type": "budget_exceeded", "code": "budget_exceeded"}}', None, BUDGET_REFUSAL),
        (503, b'{"error": {"type": "unavailable", "code": null}}', None, "HTTP 503 unavailable/-"),
        (502, b"<html>bad gateway</html>", None, "HTTP 502 -/-"),
        (None, b"", TimeoutError(), "TimeoutError"),
    ],
)
def test_a_request_ends_by_cause(status: int | None, body: bytes, error: BaseException | None, cause: str) -> None:
    assert cause_of(status, body, error) == cause


def test_percentiles_interpolate_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0, 1.0, 2.0], 0) == 1.0
    assert percentile([3.0, 1.0, 2.0], 100) == 3.0
    assert percentile([], 50) is None


def test_windows_around_faults_are_clipped_by_their_neighbours_and_the_end() -> None:
    kill = Fault(name="kill", start_s=30.0, recovered_s=40.0)
    restart = Fault(name="pg", start_s=50.0, recovered_s=52.0)
    found = windows([restart, kill], width_s=20.0, end_s=60.0)
    assert {name: (w.start_s, w.end_s) for name, w in found.items()} == {
        "kill.before": (10.0, 30.0),
        "kill.during": (30.0, 40.0),
        "kill.after": (40.0, 50.0),  # clipped at the next fault's start
        "pg.before": (40.0, 50.0),  # clipped at the previous fault's recovery
        "pg.during": (50.0, 52.0),
        "pg.after": (52.0, 60.0),  # clipped at the end
    }
    assert windows([kill], width_s=50.0, end_s=35.0)["kill.before"].start_s == 0.0


def test_phases_cut_the_run_at_the_faults_without_gaps() -> None:
    found = phases([Fault(name="kill", start_s=30.0, recovered_s=40.0)], end_s=90.0)
    assert {name: (w.start_s, w.end_s) for name, w in found.items()} == {
        "steady.0": (0.0, 30.0),
        "kill": (30.0, 40.0),
        "steady.1": (40.0, 90.0),
    }


def test_a_summary_counts_causes_and_times_only_the_answered() -> None:
    """Budget refusals are counted apart from errors; ``ok_*`` percentiles are over 2xx answers only."""
    records = [
        _record(1.0, latency_s=0.1),
        _record(2.0, latency_s=0.3),
        _record(3.0, BUDGET_REFUSAL, latency_s=0.01),
        _record(4.0, "HTTP 503 unavailable/-", latency_s=2.0),
        _record(5.0, "ReadTimeout", kind="decision", latency_s=30.0),
        _record(9.0),  # outside the window
    ]
    found = summarise(records, Window(name="w", start_s=0.0, end_s=6.0))
    assert found["requests"] == 5
    assert found["by_cause"] == {"ok": 2, BUDGET_REFUSAL: 1, "HTTP 503 unavailable/-": 1, "ReadTimeout": 1}
    assert found["error_rate"] == 0.4
    assert found["budget_refusal_rate"] == 0.2
    chat = found["by_kind"]["chat_cheap"]
    assert (chat["requests"], chat["ok"], chat["ok_p50_ms"], chat["all_p99_ms"]) == (4, 2, 200.0, 1949.0)
    assert found["by_kind"]["decision"]["ok_p50_ms"] is None
    assert summarise([])["error_rate"] is None


def test_the_timeline_buckets_requests_by_due_time() -> None:
    records = [_record(0.5, latency_s=0.2), _record(1.5, BUDGET_REFUSAL), _record(1.7, "ReadTimeout"), _record(2.5)]
    found = timeline(records, bucket_s=1.0, end_s=2.5)
    assert [(b["start_s"], b["requests"], b["ok"], b["budget_refusals"], b["errors"]) for b in found] == [
        (0.0, 1, 1, 0, 0),
        (1.0, 2, 0, 1, 1),
        (2.0, 1, 1, 0, 0),
    ]
    assert (found[0]["ok_p50_ms"], found[1]["ok_p50_ms"]) == (200.0, None)


def test_each_line_counts_the_bills_of_its_holds_and_what_they_still_hold() -> None:
    holds = [
        SimpleNamespace(lines=["a", "b"], actual=5, status="settled", amount=9),
        SimpleNamespace(lines=["a"], actual=None, status="held", amount=7),
        SimpleNamespace(lines=["b"], actual=None, status="released", amount=3),
        SimpleNamespace(lines=["b"], actual=2, status="expired", amount=4),  # settled late, after a reclaim
    ]
    billed, held = _by_line(holds)
    assert (billed["a"], billed["b"], held["a"], held["b"]) == (5, 7, 7, 0)


def test_the_cluster_is_found_by_its_port() -> None:
    listing = (
        "15  main    5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log\n"
        "15  soak    5433 online postgres /var/lib/postgresql/15/soak /var/log/postgresql/postgresql-15-soak.log\n"
    )
    assert cluster_on_port(listing, 5433) == ("15", "soak")
    assert cluster_on_port(listing, 5432) == ("15", "main")
    assert cluster_on_port(listing, 6543) is None
