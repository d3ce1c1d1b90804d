"""The run: start the processes, measure every target round by round, interleaved, and write the figures."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._common import ROOT, write_result
from bench.proxy_overhead import _targets as procs
from bench.proxy_overhead._report import GOAL, summarise

__all__ = ["main"]

_MESSAGES = [
    {"role": "system", "content": "You answer in one short sentence."},
    {"role": "user", "content": "What is six times seven? Reply with the number only."},
]


@dataclass(frozen=True, kw_only=True)
class Target:
    """One way to reach the upstream: its chat-completions URL, the model it is asked for, its headers."""

    name: str
    url: str
    model: str
    headers: dict[str, str] = field(default_factory=dict)
    #: The process whose CPU time is counted per request (the proxy; for direct calls, the upstream).
    process: str = "upstream"

    def body(self) -> dict[str, Any]:
        return {"model": self.model, "messages": _MESSAGES, "max_tokens": 16, "temperature": 0}


def _probe(target: Target) -> str | None:
    """Why ``target`` cannot be measured (one request that fails), or ``None`` when it answers 200."""
    request = urllib.request.Request(  # loopback only
        target.url,
        data=json.dumps(target.body()).encode(),
        headers={"content-type": "application/json", **target.headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            json.load(response)
            return None
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}: {exc.read().decode(errors='replace')[:300]}"
    except (OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def _load(target: Target, args: argparse.Namespace, rate: float | None, requests: int) -> dict[str, Any]:
    spec = {
        "url": target.url,
        "body": target.body(),
        "headers": target.headers,
        "connections": args.concurrency,
        "requests": requests,
        "warmup": args.warmup,
        "seconds": args.seconds,
        "warmup_seconds": args.warmup_seconds,
        "rate": rate,
    }
    done = subprocess.run(  # our own load generator
        [sys.executable, "-m", "bench.proxy_overhead._load", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _measure(
    target: Target, processes: procs.Processes, upstream: str, args: argparse.Namespace, rate: float | None
) -> dict[str, Any]:
    """One load-generator run on ``target``, with the proxy's CPU time and the upstream calls per request."""
    requests = args.requests if rate is None else args.open_requests
    pid = processes.pid(target.process)
    calls, cpu = procs.completions(upstream), procs.process_cpu_s(pid)
    result = _load(target, args, rate, requests)
    sent = result["sent"] + result["warmup_sent"]
    result["cpu_ms_per_request"] = round((procs.process_cpu_s(pid) - cpu) * 1000 / sent, 3)
    result["upstream_calls_per_request"] = round((procs.completions(upstream) - calls) / sent, 3)
    return result


def _rounds(
    targets: list[Target], processes: procs.Processes, upstream: str, args: argparse.Namespace, rate: float | None
) -> list[dict[str, Any]]:
    rounds = []
    for number in range(args.rounds):
        shift = number % len(targets)
        order = targets[shift:] + targets[:shift]  # each target in each place of the order in turn
        measured = {}
        for target in order:
            measured[target.name] = _measure(target, processes, upstream, args, rate)
            print(f"  round {number + 1} {target.name}: {_line(measured[target.name])}", file=sys.stderr)
        rounds.append({"order": [t.name for t in order], "load_average": os.getloadavg()[0], "targets": measured})
    return rounds


def _line(result: dict[str, Any]) -> str:
    return (
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, {result['throughput_rps']} req/s, "
        f"errors {sum(result['errors'].values())}, cpu {result['cpu_ms_per_request']} ms/req, "
        f"upstream calls {result['upstream_calls_per_request']}/req"
    )


def _start(processes: procs.Processes, args: argparse.Namespace) -> tuple[str, list[Target], dict[str, Any]]:
    """Start everything; the upstream, the targets that answer, and why the others are missing."""
    upstream = procs.start_upstream(processes)
    bearer = {"authorization": f"Bearer {procs.FAKE_KEY}"}
    targets = [Target(name="direct", url=f"{upstream}/v1/chat/completions", model="gpt-4.1-nano", headers=bearer)]
    missing: dict[str, Any] = {}
    escalade, key = procs.start_escalade(processes, upstream, workers=args.escalade_workers)
    for name, model in (("escalade_cheap", "escalade/cheap"), ("escalade_auto", "escalade/auto")):
        found = Target(
            name=name,
            url=f"{escalade}/v1/chat/completions",
            model=model,
            headers={"authorization": f"Bearer {key}"},
            process="escalade",
        )
        targets.append(found)
    if not args.no_litellm:
        try:
            versions = procs.ensure_litellm()
            litellm = procs.start_litellm(processes, upstream, workers=args.litellm_workers)
            targets.append(Target(name="litellm", url=f"{litellm}/v1/chat/completions", model="bench-model",
                                  headers={"authorization": f"Bearer {procs.LITELLM_MASTER_KEY}"},
                                  process="litellm"))  # fmt: skip
            missing["litellm_version"] = versions
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            missing["litellm"] = f"could not be started: {exc}"
    answering = []
    for target in targets:
        problem = _probe(target)
        if problem is None:
            answering.append(target)
        else:
            missing[target.name] = f"not measured: one probe request failed ({problem})"
            print(f"{target.name}: {missing[target.name]}", file=sys.stderr)
    return upstream, answering, missing


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy_overhead", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every target, interleaved (default 3)")
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per target per round")
    parser.add_argument("--seconds", type=float, default=6.0, help="longest timed closed-loop run (default 6)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests before each timed run")
    parser.add_argument("--warmup-seconds", type=float, default=2.0, help="longest warm-up (default 2)")
    parser.add_argument("--concurrency", type=int, default=100, help="connections, and requests in flight")
    parser.add_argument("--delays", default="0,20", help="upstream delays in ms, comma-separated (default 0,20)")
    parser.add_argument("--open-rate", type=float, default=10.0, help="open-loop rate in req/s (0: none)")
    parser.add_argument("--open-requests", type=int, default=60, help="timed requests of each open-loop run")
    parser.add_argument("--open-delays", default="0", help="upstream delays of the open-loop runs (default 0)")
    parser.add_argument("--escalade-workers", type=int, default=1)
    parser.add_argument("--litellm-workers", type=int, default=1)
    parser.add_argument("--no-litellm", action="store_true", help="leave LiteLLM out")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round, few requests, nothing written")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.requests, args.warmup, args.open_requests, args.delays = 1, 200, 20, 20, "0"
        args.seconds, args.warmup_seconds = 3.0, 1.0
    return args


def _stop_on_sigterm(number: int, frame: object) -> None:
    raise SystemExit(128 + number)  # so that the processes are stopped on the way out


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    delays = [float(d) for d in args.delays.split(",") if d.strip()]
    open_delays = {float(d) for d in args.open_delays.split(",") if d.strip()}
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="escalade-proxy-bench-") as workdir,
        procs.Processes(Path(workdir)) as processes,
    ):
        upstream, targets, missing = _start(processes, args)
        names = [t.name for t in targets]
        phases = []
        for delay in delays:
            procs.set_delay(upstream, delay)
            print(f"upstream delay {delay:g} ms, closed loop at {args.concurrency} in flight", file=sys.stderr)
            closed = summarise(_rounds(targets, processes, upstream, args, None), names)
            phases.append({"upstream_delay_ms": delay, "mode": "closed", **closed})
            if args.open_rate > 0 and delay in open_delays:
                print(f"upstream delay {delay:g} ms, open loop at {args.open_rate:g} req/s", file=sys.stderr)
                opened = summarise(_rounds(targets, processes, upstream, args, args.open_rate), names)
                phases.append({"upstream_delay_ms": delay, "mode": "open", "rate_rps": args.open_rate, **opened})
    result = {
        "method": _method(args),
        "command": "python -m bench.proxy_overhead" + (" " + " ".join(argv) if argv else ""),
        "duration_s": round(time.monotonic() - started, 1),
        "targets": names,
        "not_measured": {k: v for k, v in missing.items() if k != "litellm_version"},
        "litellm_version": missing.get("litellm_version"),
        "goal": GOAL,
        "phases": phases,
    }
    if args.quick:
        print(json.dumps(result, indent=2))
    else:
        write_result("proxy_overhead", result)


def _method(args: argparse.Namespace) -> str:
    return (
        f"{args.rounds} rounds; in each, every target in turn (the order rotated each round): {args.warmup} "
        f"untimed then {args.requests} timed requests, closed loop with {args.concurrency} keep-alive connections "
        f"each with one request in flight; then an open loop at a fixed rate ({args.open_requests} requests, "
        f"latency from when each was due) on the same {args.concurrency} connections. Same body, same fake "
        "upstream. Added latency = target minus direct in the same round; figures are medians over rounds. "
        "The load generator, the upstream and the proxy are separate processes sharing this machine's CPUs."
    )
