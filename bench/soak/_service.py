"""The system under test: the fake upstream, the replicas on one PostgreSQL, and the capped workspaces.

Every replica is ``escalade serve`` with the same options on its own loopback port: the fake
upstream as its OpenAI-compatible provider (``--env-keys`` with a fake ``OPENAI_API_KEY``; the
upstream reads no key), :data:`LADDER`, and short ``--workflow-lease`` and ``--hold-ttl`` so that
what a killed replica leaves behind is taken over and reclaimed within the run. Workspaces, their
keys and their caps are made through the administrator's API, through the balancer.
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench._common import ROOT
from bench.proxy_overhead._targets import LADDER as PROXY_LADDER
from bench.soak._processes import ESCALADE, Processes, free_port
from bench.soak._traffic import MAX_TOKENS

__all__ = ["LADDER", "PROBE", "Options", "Workspaces", "make_workspaces", "start_replicas", "start_upstream"]

#: Longest answer of the fake upstream, in tokens (each is a tenth of it to all of it).
ANSWER_TOKENS = 200
#: The uncapped workspace that measures what a call costs and takes the warm-up traffic.
PROBE = "soak-probe"
#: The upstream key every replica sends (the fake upstream reads none).
FAKE_KEY = "sk-soak-not-a-real-key"
#: One priced model per tier, one attempt per model, a team of one, short backoffs: a cheap request is
#: one upstream call unless it fails (5xx: retried twice; 429: the next tier). Answers of at most 256
#: tokens, as the chat requests ask, so that a workflow's worst case is a chat's.
LADDER = (
    """
max_output_tokens = 256
retry_backoff_s = 0.2
retry_max_wait_s = 2.0
max_retries = 2
"""
    + PROXY_LADDER
)


@dataclass(frozen=True, kw_only=True)
class Options:
    """How the replicas and the upstream run (see ``python -m bench.soak --help``)."""

    replicas: int
    workflow_lease_s: float
    hold_ttl_s: float
    upstream_timeout_s: float
    median_ms: float
    sigma: float
    server_errors: float
    rate_limits: float
    seed: int


def start_upstream(processes: Processes, options: Options) -> str:
    """The fake upstream (log-normal latency, 5xx and 429s); its base URL."""
    port = free_port()
    argv = [
        sys.executable, "-m", "bench.proxy_overhead._upstream", "--port", str(port),
        "--median-ms", str(options.median_ms), "--sigma", str(options.sigma), "--max-ms", "3000",
        "--server-errors", str(options.server_errors), "--rate-limits", str(options.rate_limits),
        "--retry-after", "1", "--answer-tokens", str(ANSWER_TOKENS), "--seed", str(options.seed),
    ]  # fmt: skip
    processes.start("upstream", argv, f"http://127.0.0.1:{port}/stats", env={"PYTHONPATH": str(ROOT)})
    return f"http://127.0.0.1:{port}"


def replica_argv(port: int, database_url: str, upstream: str, ladder: Path, options: Options) -> list[str]:
    return [
        str(ESCALADE), "serve", "--host", "127.0.0.1", "--port", str(port), "--db", database_url,
        "--provider", "openai", "--base-url", f"{upstream}/v1", "--config", str(ladder), "--env-keys",
        "--workflow-lease", str(options.workflow_lease_s), "--hold-ttl", str(options.hold_ttl_s),
        "--timeout", str(options.upstream_timeout_s), "--log-level", "warning",
    ]  # fmt: skip


def start_replicas(processes: Processes, database_url: str, upstream: str, options: Options) -> tuple[list[int], str]:
    """``options.replicas`` servers on the database, started together; their ports and the admin key."""
    ladder = processes.workdir / "ladder.toml"
    ladder.write_text(LADDER, encoding="utf-8")
    admin_key = secrets.token_hex(24)
    env = {"OPENAI_API_KEY": FAKE_KEY, "ESCALADE_ADMIN_KEY": admin_key, "ESCALADE_MASTER_KEY": ""}
    ports = [free_port() for _ in range(options.replicas)]
    for n, port in enumerate(ports):
        argv = replica_argv(port, database_url, upstream, ladder, options)
        processes.commands[f"replica{n}"] = (argv, f"http://127.0.0.1:{port}/v1/escalation/health", env)
        processes.launch(f"replica{n}")
    for n in range(options.replicas):
        processes.wait_ready(f"replica{n}")
    return ports, admin_key


@dataclass(frozen=True)
class Workspaces:
    """The soak's workspaces: each one's key and monthly cap, and the probed cost of one call."""

    keys: dict[str, str]
    caps_usd: dict[str, float]
    probe: dict[str, Any]
    #: The key of the uncapped probe workspace (``PROBE``), which also takes the warm-up traffic.
    probe_key: str


def _created(response: httpx.Response) -> dict[str, Any]:
    if response.status_code not in (200, 201):
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    body: dict[str, Any] = response.json()
    return body


def _key(client: httpx.Client, admin: dict[str, str], workspace: str) -> str:
    _created(client.post("/v1/admin/workspaces", json={"name": workspace}, headers=admin))
    return str(
        _created(client.post(f"/v1/admin/workspaces/{workspace}/keys", json={"name": "soak"}, headers=admin))["key"]
    )


def _probe_cost(client: httpx.Client, key: str, model: str) -> float:
    """What one chat completion on ``model`` cost (the mean of a few, upstream errors aside)."""
    costs = []
    for _ in range(10):
        messages = [{"role": "user", "content": "What is six times seven?"}]
        body = {"model": model, "messages": messages, "max_tokens": MAX_TOKENS}
        answer = client.post("/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"})
        if answer.status_code == 200:
            costs.append(float(answer.json()["escalade"]["cost_usd"]))
    if not costs:
        raise RuntimeError(f"no probe call on {model} was answered; is the upstream up?")
    return sum(costs) / len(costs)


def make_workspaces(base_url: str, admin_key: str, caps: dict[str, float], expected_calls: float) -> Workspaces:
    """The workspaces of ``caps`` (name → cap as a share of its expected spend), keys, and their caps in USD.

    A probe workspace, uncapped, measures what a call costs; a workspace's expected spend is that times
    ``expected_calls`` (the calls its share of the traffic would make), and its cap that times its share."""
    admin = {"authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        probe_key = _key(client, admin, PROBE)
        cheap = _probe_cost(client, probe_key, "escalade/cheap")
        auto = _probe_cost(client, probe_key, "escalade/auto")
        per_call = (cheap + auto) / 2
        keys, caps_usd = {}, {}
        for workspace, share in caps.items():
            keys[workspace] = _key(client, admin, workspace)
            caps_usd[workspace] = round(share * expected_calls * per_call, 9)
            budget = {"monthly_limit_usd": caps_usd[workspace]}
            _created(client.put(f"/v1/admin/workspaces/{workspace}/budget", json=budget, headers=admin))
    probe = {"cheap_call_usd": cheap, "auto_call_usd": auto, "expected_calls_per_workspace": round(expected_calls, 1)}
    return Workspaces(keys, caps_usd, probe, probe_key)
