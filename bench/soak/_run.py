"""The soak's run: start everything, send the traffic while injecting the faults, settle, and judge."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from bench import soak
from bench._common import postgres_database, write_result
from bench.soak import _figures as figures
from bench.soak._balancer import Balancer
from bench.soak._processes import (
    Processes,
    ensure_postgres_up,
    free_port,
    postgres_cluster,
    restart_postgres,
)
from bench.soak._report import BUDGET_REFUSAL, Fault, phases, summarise, timeline, windows
from bench.soak._service import PROBE, Options, Workspaces, make_workspaces, start_replicas, start_upstream
from bench.soak._traffic import GENERATE_SHARE, MIX, Plan, Record, plan, send_all

__all__ = ["main"]

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: Each workspace's monthly cap, as a share of what its part of the traffic would spend uncapped.
CAP_SHARES = {"soak-a": 0.25, "soak-b": 0.5, "soak-c": 0.75, "soak-d": 3.0}


@dataclass
class _Faults:
    """The faults as they happened (seconds after the origin), and any that could not be injected."""

    done: list[Fault] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: The replica killed, and whether it was running a workflow then.
    victim: dict[str, Any] = field(default_factory=dict)
    #: ``(seconds after the origin, 1-minute load average)`` every 10 s of the traffic.
    load_average: list[tuple[float, float]] = field(default_factory=list)


@dataclass(frozen=True)
class _Targets:
    """What the faults act on: the replicas, the database they share, and its PostgreSQL cluster."""

    processes: Processes
    database_url: str
    cluster: tuple[str, str]
    admin_url: str


def _victim(targets: _Targets, fallback: str, wait_s: float = 5.0) -> tuple[str, bool]:
    """The replica to kill: one running a workflow (waiting up to ``wait_s`` for one), else ``fallback``;
    and whether it was running one."""
    engine = create_engine(targets.database_url)
    replicas = {p.pid: name for name, p in targets.processes.running.items() if name.startswith("replica")}
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            busy = sorted(replicas[pid] for pid in figures.running_pids(engine) if pid in replicas)
            if busy:
                return busy[0], True
            time.sleep(0.1)
    finally:
        engine.dispose()
    return fallback, False


async def _kill_replica(processes: Processes, name: str, down_s: float, origin: float) -> Fault:
    start = time.monotonic() - origin
    await asyncio.to_thread(processes.kill, name)
    await asyncio.sleep(down_s)
    await asyncio.to_thread(processes.launch, name)
    await asyncio.to_thread(processes.wait_ready, name)
    return Fault(name="replica_kill", start_s=start, recovered_s=time.monotonic() - origin)


async def _restart_postgres(cluster: tuple[str, str], url: str, origin: float) -> Fault:
    start = time.monotonic() - origin
    try:
        await asyncio.to_thread(restart_postgres, cluster, url)
    finally:
        await asyncio.to_thread(ensure_postgres_up, cluster, url)
    return Fault(name="postgres_restart", start_s=start, recovered_s=time.monotonic() - origin)


async def _inject(args: argparse.Namespace, targets: _Targets, origin: float) -> _Faults:
    """At a third of the run, SIGKILL a replica running a workflow (else the one the seed draws) and start
    it again after ``--down``; at two thirds, restart PostgreSQL."""
    found = _Faults()
    fallback = f"replica{random.Random(args.seed).randrange(args.replicas)}"
    await asyncio.sleep(max(0.0, origin + args.duration / 3 - time.monotonic()))
    try:
        victim, busy = await asyncio.to_thread(_victim, targets, fallback)
        found.victim = {"replica": victim, "was_running_a_workflow": busy}
        found.done.append(await _kill_replica(targets.processes, victim, args.down, origin))
    except (RuntimeError, OSError) as exc:
        found.problems.append(f"replica_kill: {exc}")
    await asyncio.sleep(max(0.0, origin + 2 * args.duration / 3 - time.monotonic()))
    try:
        found.done.append(await _restart_postgres(targets.cluster, targets.admin_url, origin))
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        found.problems.append(f"postgres_restart: {exc}")
    return found


def _expected_calls(total: int, workspaces: int) -> float:
    """Upstream calls one workspace's share of ``total`` requests would make (chats and generating workflows)."""
    spending = MIX["chat_cheap"] + MIX["chat_auto"] + MIX["workflow_submit"] * GENERATE_SHARE
    return total / workspaces * spending


def _first_refusals(records: Sequence[Record]) -> dict[str, float | None]:
    """Per workspace, when (due time) its first request was refused by a cap."""
    first: dict[str, float | None] = dict.fromkeys(CAP_SHARES)
    for r in records:
        if r.status == 402 and first.get(r.workspace) is None:
            first[r.workspace] = round(r.due_s, 1)
    return first


def _workflow_records(engine: Any, accepted: Sequence[str], wall_origin: float) -> list[Record]:
    """Each finished accepted workflow as a record: due at its creation, its latency the time to finish."""
    found = []
    for created, took, state in figures.workflow_durations(engine, accepted):
        cause = "ok" if state == "completed" else f"workflow {state}"
        found.append(
            Record(
                kind="workflow_run",
                workspace="",
                due_s=created.timestamp() - wall_origin,
                latency_s=took,
                status=None,
                cause=cause,
            )
        )
    return found


def _judge(ledger: dict[str, Any], holds: dict[str, Any], workflows: dict[str, Any]) -> dict[str, Any]:
    overspend = {ws: line["overspend_usd"] for ws, line in ledger.items()}
    must_be_zero = {
        "overspend_usd": round(sum(overspend.values()), 9),
        "lost_workflows": workflows["lost"],
        "unreclaimed_holds": holds["unreclaimed"],
    }
    return {
        "must_be_zero": must_be_zero,
        "overspend_usd_by_workspace": overspend,
        "passed": all(v == 0 for v in must_be_zero.values()),
    }


async def _sample_load(origin: float, into: list[tuple[float, float]], every_s: float = 10.0) -> None:
    """The machine's 1-minute load average every ``every_s`` (until cancelled), with its time after the origin."""
    await asyncio.sleep(max(0.0, origin - time.monotonic()))
    while True:
        into.append((round(time.monotonic() - origin, 1), round(os.getloadavg()[0], 2)))
        await asyncio.sleep(every_s)


async def _traffic_and_faults(
    args: argparse.Namespace, targets: _Targets, lb_url: str, keys: dict[str, str], plans: list[Plan]
) -> tuple[list[Record], _Faults, float]:
    """Send the planned traffic while the faults happen; the records, the faults and the wall-clock origin."""
    origin = time.monotonic() + 1.0
    wall_origin = time.time() + 1.0
    injected = asyncio.create_task(_inject(args, targets, origin))
    loads: list[tuple[float, float]] = []
    sampler = asyncio.create_task(_sample_load(origin, loads))
    try:
        records = await send_all(
            lb_url, plans, keys, start=origin, timeout_s=args.timeout, max_in_flight=args.in_flight
        )
        found = await injected
    finally:
        for task in (injected, sampler):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    found.load_average = loads
    return records, found, wall_origin


async def _soak(args: argparse.Namespace, targets: _Targets) -> dict[str, Any]:
    options = _options(args)
    upstream = await asyncio.to_thread(start_upstream, targets.processes, options)
    ports, admin_key = await asyncio.to_thread(
        start_replicas, targets.processes, targets.database_url, upstream, options
    )
    balancer = Balancer([("127.0.0.1", port) for port in ports])
    lb_port = free_port()
    await balancer.start(lb_port)
    lb_url = f"http://127.0.0.1:{lb_port}"
    try:
        total = min(args.max_requests, int(args.rps * args.duration))
        spaces: Workspaces = await asyncio.to_thread(
            make_workspaces, lb_url, admin_key, CAP_SHARES, _expected_calls(total, len(CAP_SHARES))
        )
        await asyncio.sleep(1.5)  # past --cache-ttl: every replica reads the new caps
        warm = await _warm_up(args, lb_url, spaces)
        plans = plan(rps=args.rps, duration_s=args.duration, total=total, workspaces=list(spaces.keys), seed=args.seed)
        print(f"soak: {len(plans)} requests over {args.duration:g} s on {len(ports)} replicas", file=sys.stderr)
        records, faults, wall_origin = await _traffic_and_faults(args, targets, lb_url, spaces.keys, plans)
        print(f"soak: traffic done; faults {[f.name for f in faults.done]}; settling", file=sys.stderr)
        with (targets.processes.workdir / "records.jsonl").open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(asdict(r)) + "\n" for r in records)
        earlier = warm.pop("accepted_workflows")
        settled = await asyncio.to_thread(_settle, args, targets.database_url, records, wall_origin, earlier)
    finally:
        await balancer.close()
    logs = {name: targets.processes.log_summary(name) for name in sorted(targets.processes.running)}
    return _result(args, spaces, records, faults, settled, balancer, upstream) | {"warm_up": warm, "logs": logs}


async def _warm_up(args: argparse.Namespace, lb_url: str, spaces: Workspaces) -> dict[str, Any]:
    """``--warmup`` seconds of the same traffic in the probe workspace (uncapped), before the origin:
    every replica has made its upstream clients and warmed its caches before anything is counted."""
    if args.warmup <= 0:
        return {"requests": 0, "accepted_workflows": []}
    plans = plan(rps=args.rps, duration_s=args.warmup, total=args.max_requests, workspaces=[PROBE], seed=args.seed + 1)
    records = await send_all(
        lb_url,
        plans,
        {PROBE: spaces.probe_key},
        start=time.monotonic(),
        timeout_s=args.timeout,
        max_in_flight=args.in_flight,
    )
    accepted = [r.workflow_id for r in records if r.workflow_id is not None]
    return {"requests": len(records), "by_cause": summarise(records)["by_cause"], "accepted_workflows": accepted}


def _settle(
    args: argparse.Namespace, database_url: str, records: Sequence[Record], wall_origin: float, earlier: list[str]
) -> dict[str, Any]:
    """Wait for the accepted workflows (``earlier``: the warm-up's too) and past the holds' expiry, then read
    the database's figures."""
    accepted = [r.workflow_id for r in records if r.workflow_id is not None]
    engine = create_engine(database_url)
    try:
        waited = figures.wait_for_workflows(engine, earlier + accepted, args.settle)
        holds_wait = figures.wait_past_holds(engine, sweep_every_s=args.lease / 2, timeout_s=args.settle)
        return {
            "settle": {"workflows_waited_s": waited, **holds_wait},
            "ledger": figures.ledger_figures(engine),
            "holds": figures.hold_figures(engine),
            "workflows": figures.workflow_figures(engine, earlier + accepted),
            "workflow_records": _workflow_records(engine, accepted, wall_origin),
        }
    finally:
        engine.dispose()


def _upstream_stats(upstream: str) -> dict[str, Any]:
    import urllib.request  # noqa: PLC0415  # only here, once

    with urllib.request.urlopen(f"{upstream}/stats", timeout=5) as response:  # loopback only
        found: dict[str, Any] = json.load(response)
        return found


def _result(
    args: argparse.Namespace,
    spaces: Workspaces,
    records: list[Record],
    faults: _Faults,
    settled: dict[str, Any],
    balancer: Balancer,
    upstream: str,
) -> dict[str, Any]:
    end_s = max((r.due_s for r in records), default=0.0)
    runs: list[Record] = settled.pop("workflow_records")
    cut = windows(faults.done, width_s=args.window, end_s=end_s)
    parts = phases(faults.done, end_s=end_s)
    verdict = _judge(settled["ledger"], settled["holds"], settled["workflows"])
    return {
        "method": (soak.__doc__ or "").strip(),
        "command": "python -m bench.soak " + " ".join(sys.argv[1:]),
        "parameters": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        | {"cap_shares": CAP_SHARES, "mix": MIX, "generate_share": GENERATE_SHARE},
        **verdict,
        "faults": [asdict(f) for f in faults.done],
        "killed": faults.victim,
        "load_average": _loads(faults.load_average),
        "fault_problems": faults.problems,
        "requests": len(records),
        "traffic_end_s": round(end_s, 1),
        "caps_usd": spaces.caps_usd,
        "probe": spaces.probe,
        "first_budget_refusal_s": _first_refusals(records),
        **settled,
        "overall": summarise(records),
        "phases": {name: summarise(records, w) for name, w in parts.items()},
        "fault_windows": {name: summarise(records, w) for name, w in cut.items()},
        "workflow_runs": {name: summarise(runs, w) for name, w in cut.items()} | {"overall": summarise(runs)},
        "timeline": timeline(records, bucket_s=10.0, end_s=end_s),
        "errors_sample": [_brief(r) for r in records if r.cause not in ("ok", BUDGET_REFUSAL)][:40],
        "balancer": balancer.stats.as_dict(),
        "upstream": _upstream_stats(upstream),
    }


def _loads(samples: list[tuple[float, float]]) -> dict[str, Any]:
    values = sorted(load for _, load in samples)
    if not values:
        return {}
    return {"min": values[0], "median": values[len(values) // 2], "max": values[-1], "samples": samples}


def _brief(record: Record) -> dict[str, Any]:
    return {
        "due_s": round(record.due_s, 2),
        "kind": record.kind,
        "workspace": record.workspace,
        "latency_ms": round(record.latency_s * 1000, 1),
        "cause": record.cause,
    }


def _options(args: argparse.Namespace) -> Options:
    return Options(
        replicas=args.replicas,
        workflow_lease_s=args.lease,
        hold_ttl_s=args.hold_ttl,
        upstream_timeout_s=args.upstream_timeout,
        median_ms=args.median_ms,
        sigma=args.sigma,
        server_errors=args.server_errors,
        rate_limits=args.rate_limits,
        seed=args.seed,
    )


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description="A soak of escalade serve under faults.")
    add = parser.add_argument
    add("--duration", type=float, default=None, help="seconds of traffic (default 240; --quick: 60)")
    add("--rps", type=float, default=None, help="mean requests per second, Poisson arrivals (default 20; --quick: 10)")
    add("--max-requests", type=int, default=10_000, help="bound on the requests sent (default 10000)")
    add("--seed", type=int, default=0)
    add(
        "--postgres-url",
        default=os.environ.get("ESCALADE_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL),
        help="admin URL of the PostgreSQL server (a fresh database is made on it and dropped)",
    )
    add("--replicas", type=int, default=4)
    add("--timeout", type=float, default=30.0, help="client timeout of one request in seconds (default 30)")
    add("--in-flight", type=int, default=200, help="requests outstanding at most (default 200)")
    add("--down", type=float, default=5.0, help="seconds the killed replica stays down (default 5)")
    add("--lease", type=float, default=10.0, help="the replicas' --workflow-lease (default 10; sweeps every half)")
    add("--hold-ttl", type=float, default=30.0, help="the replicas' --hold-ttl (default 30)")
    add("--upstream-timeout", type=float, default=10.0, help="the replicas' --timeout (default 10)")
    add("--median-ms", type=float, default=120.0, help="upstream latency median (log-normal; default 120)")
    add("--sigma", type=float, default=0.6, help="upstream latency shape (default 0.6)")
    add("--server-errors", type=float, default=0.03, help="share of upstream calls answered 5xx (default 0.03)")
    add("--rate-limits", type=float, default=0.03, help="share of upstream calls answered 429 (default 0.03)")
    add("--warmup", type=float, default=15.0, help="seconds of uncounted traffic first (default 15; --quick: 5)")
    add("--window", type=float, default=20.0, help="seconds of the before/after windows (default 20)")
    add("--settle", type=float, default=180.0, help="longest wait for workflows, then for holds (default 180)")
    add("--workdir", type=Path, default=None, help="keep the processes' logs here (default: a temporary folder)")
    add("--quick", action="store_true", help="a short run (60 s at 10 req/s unless given); prints, writes nothing")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 60.0 if args.quick else 240.0
    if args.quick and args.warmup == parser.get_default("warmup"):
        args.warmup = 5.0
    if args.rps is None:
        args.rps = 10.0 if args.quick else 20.0
    return args


def _stop_on_sigterm(number: int, frame: object) -> None:
    raise SystemExit(128 + number)  # so that every process is stopped on the way out


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    cluster = postgres_cluster(args.postgres_url)
    started = time.monotonic()
    try:
        with ExitStack() as stack:
            workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="escalade-soak-")))
            workdir.mkdir(parents=True, exist_ok=True)
            database_url = stack.enter_context(postgres_database(args.postgres_url, prefix="escalade_soak"))
            stack.callback(ensure_postgres_up, cluster, args.postgres_url)  # before the database is dropped
            processes = stack.enter_context(Processes(workdir))
            targets = _Targets(processes, database_url, cluster, args.postgres_url)
            result = asyncio.run(_soak(args, targets))
    finally:
        ensure_postgres_up(cluster, args.postgres_url)
    result["duration_s"] = round(time.monotonic() - started, 1)
    if args.quick:
        print(json.dumps(result, indent=2))  # the same encoding as write_result: no silent str()
    else:
        write_result("soak", result)
    if not result["passed"]:
        sys.exit(1)
