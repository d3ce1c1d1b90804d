"""The soak's clients: an open loop of mixed requests over several workspaces, each one recorded.

Requests are due on a schedule drawn from the seed (Poisson arrivals at ``rps``, at most
``total`` of them); each is sent when due, whatever the others are doing, through one pool of
keep-alive connections to the balancer, and its latency counts from when it was due (so time spent
waiting for a connection is not hidden). Every request is bounded by ``timeout_s``; at most
``max_in_flight`` are outstanding (past that, a due request waits, and its wait counts).

The kinds and their shares (:data:`MIX`): chat completions on ``escalade/cheap`` and
``escalade/auto``, submitted workflows (most with ``generate``, so that they call the upstream
and spend), decisions (``POST /v1/decisions``), and status reads of workflows accepted earlier.
Each request's workspace is drawn uniformly; each workspace has its own key.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["GENERATE_SHARE", "MAX_TOKENS", "MIX", "Plan", "Record", "cause_of", "plan", "send_all"]

#: Request kinds and their shares of the traffic.
MIX: dict[str, float] = {
    "chat_cheap": 0.35,
    "chat_auto": 0.20,
    "workflow_submit": 0.15,
    "decision": 0.20,
    "workflow_status": 0.10,
}
#: Share of submitted workflows that generate an answer (the others only route).
GENERATE_SHARE = 0.7
#: ``max_tokens`` of every chat completion.
MAX_TOKENS = 256

_PROMPTS = (
    "What is six times seven? Reply with the number only.",
    "Name the capital of France in one word.",
    "Summarise in one sentence why unit tests matter.",
    "Refactor this function to remove the duplicated branch and explain the change briefly.",
    "Review the security of this authentication flow: tokens, expiry and password storage.",
)
_TASKS = (
    ("Fix a typo in the README", "documentation"),
    ("Add a unit test for the date parser", "testing"),
    ("Implement JWT authentication with OAuth2 integration", "implementation"),
    ("Migrate the payments database schema to add a currency column", "implementation"),
    ("Rename a private helper in the CLI module", "refactoring"),
)
_DECISIONS = (
    ("Deploy v2.3 to production", "production"),
    ("Fix a typo in the onboarding email", "staging"),
    ("Rotate the database credentials", "production"),
    ("Delete stale feature flags", "staging"),
    ("Raise the API rate limit for one customer", "production"),
)


@dataclass(frozen=True, kw_only=True)
class Plan:
    """One request to send: when (seconds after the start), what, and in which workspace."""

    due_s: float
    kind: str
    workspace: str
    #: Index into the kind's list of bodies (prompts, tasks, decisions), drawn from the seed.
    variant: int
    #: For a workflow submission: whether it generates an answer.
    generate: bool = False


@dataclass(frozen=True, kw_only=True)
class Record:
    """What one request got: its kind, when it was due, how long it took, and how it ended."""

    kind: str
    workspace: str
    due_s: float
    latency_s: float
    #: The HTTP status, or ``None`` when no response came (timeout, connection error).
    status: int | None
    #: ``ok``, ``HTTP <status> <type>/<code>`` from the error body, or the client's exception name.
    cause: str
    #: The workflow id of an accepted submission.
    workflow_id: str | None = None


def plan(*, rps: float, duration_s: float, total: int, workspaces: Sequence[str], seed: int) -> list[Plan]:
    """The schedule of the run: Poisson arrivals at ``rps`` for ``duration_s``, at most ``total`` requests."""
    rng = random.Random(seed)
    kinds, weights = list(MIX), list(MIX.values())
    plans: list[Plan] = []
    due = 0.0
    while len(plans) < total:
        due += rng.expovariate(rps)
        if due >= duration_s:
            break
        kind = rng.choices(kinds, weights)[0]
        plans.append(
            Plan(
                due_s=due,
                kind=kind,
                workspace=rng.choice(list(workspaces)),
                variant=rng.randrange(5),
                generate=rng.random() < GENERATE_SHARE,
            )
        )
    return plans


def cause_of(status: int | None, body: bytes, error: BaseException | None = None) -> str:
    """How a request ended, by cause: ``ok``, the error body's type and code, or the client's exception."""
    if error is not None:
        return type(error).__name__
    if status is not None and 200 <= status < 300:
        return "ok"
    try:
        found = json.loads(body).get("error", {})
        kind, code = found.get("type"), found.get("code")
    except (ValueError, AttributeError):
        kind, code = None, None
    return f"HTTP {status} {kind or '-'}/{code or '-'}"


def _request(
    item: Plan, index: int, accepted: Sequence[tuple[str, str]]
) -> tuple[str, str, str, dict[str, Any] | None]:
    """``(kind, method, path, body)`` of a planned request. A status read picks a workflow its workspace had
    accepted; before there is one, it reads the workspace's statistics instead (kind ``statistics``)."""
    if item.kind in ("chat_cheap", "chat_auto"):
        model = "escalade/cheap" if item.kind == "chat_cheap" else "escalade/auto"
        messages = [{"role": "user", "content": _PROMPTS[item.variant]}]
        return (
            item.kind,
            "POST",
            "/v1/chat/completions",
            {"model": model, "messages": messages, "max_tokens": MAX_TOKENS},
        )
    if item.kind == "workflow_submit":
        description, task_type = _TASKS[item.variant]
        body = {"task_description": description, "task_type": task_type, "generate": item.generate}
        return item.kind, "POST", "/v1/escalation/submit", body
    if item.kind == "decision":
        description, environment = _DECISIONS[item.variant]
        body = {"id": f"soak-{index}", "description": description, "environment": environment}
        return item.kind, "POST", "/v1/decisions", body
    mine = [wid for ws, wid in accepted if ws == item.workspace]
    if not mine:
        return "statistics", "GET", "/v1/escalation/statistics", None
    return item.kind, "GET", f"/v1/escalation/status/{mine[(index * 7919) % len(mine)]}", None


@dataclass
class _Run:
    client: httpx.AsyncClient
    keys: Mapping[str, str]
    start: float
    timeout_s: float
    slots: asyncio.Semaphore
    records: list[Record]
    #: ``(workspace, workflow id)`` of every accepted submission, in order.
    accepted: list[tuple[str, str]]


async def _send(run: _Run, item: Plan, index: int) -> None:
    due = run.start + item.due_s
    async with run.slots:
        kind, method, path, body = _request(item, index, run.accepted)
        headers = {"authorization": f"Bearer {run.keys[item.workspace]}"}
        status: int | None = None
        content, error = b"", None
        try:
            response = await asyncio.wait_for(
                run.client.request(method, path, json=body, headers=headers), run.timeout_s + 1
            )
            status, content = response.status_code, response.content
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            error = exc
        latency = time.monotonic() - due
    workflow_id = None
    if item.kind == "workflow_submit" and status is not None and 200 <= status < 300:
        workflow_id = str(json.loads(content)["workflow_id"])
        run.accepted.append((item.workspace, workflow_id))
    cause = cause_of(status, content, error)
    run.records.append(
        Record(
            kind=kind,
            workspace=item.workspace,
            due_s=item.due_s,
            latency_s=latency,
            status=status,
            cause=cause,
            workflow_id=workflow_id,
        )
    )


async def send_all(
    base_url: str,
    plans: Sequence[Plan],
    keys: Mapping[str, str],
    *,
    start: float,
    timeout_s: float,
    max_in_flight: int,
) -> list[Record]:
    """Send every planned request when it is due (``start`` is the run's ``time.monotonic()`` origin)."""
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=32, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s, limits=limits) as client:
        run = _Run(client, keys, start, timeout_s, asyncio.Semaphore(max_in_flight), [], [])
        tasks = []
        for index, item in enumerate(plans):
            delay = start + item.due_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_send(run, item, index)))
        await asyncio.gather(*tasks)
    return sorted(run.records, key=lambda r: r.due_s)
