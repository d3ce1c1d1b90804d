"""Four ``escalade serve`` processes on one real PostgreSQL: a workspace's monthly cap holds exactly under
concurrent spend on all of them; workflows are shared, cancellable anywhere, and survive a replica killed
with SIGKILL mid-generation; the budget hold it left is reclaimed.

The upstream is the tests' fake OpenAI server, slow enough (each reply after a delay) for a workflow
to be mid-generation when its replica is killed. PostgreSQL unreachable: the test fails, never skips.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, update
from sqlalchemy.engine import Engine

from escalade.store import BudgetHoldRow, BudgetLineRow, WorkflowRow
from tests.service.conftest import ADMIN_KEY
from tests.service.upstream import FAKE_OPENAI_KEY, SlowUpstream, slow_openai
from tests.store.conftest import fresh_postgres

pytestmark = pytest.mark.slow

REPLICAS = 4
#: Chat completions sent at once, spread over the replicas, against a cap that lets only some through.
CONCURRENT = 32
LEASE_S = 5.0
ESCALADE = Path(sys.executable).with_name("escalade")


@dataclass
class Replica:
    """One ``escalade serve`` process and its address."""

    process: subprocess.Popen[bytes]
    url: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _until(check: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    """``check()`` once it is truthy; the test fails naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _started(replica: Replica) -> str | None:
    """``ready`` once its health check passes, ``exited`` if the process ended, else ``None``."""
    if replica.process.poll() is not None:
        return "exited"
    try:
        ok = httpx.get(f"{replica.url}/v1/escalation/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return None
    return "ready" if ok else None


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_postgres("escalade_wf_") as url:
        yield url


@pytest.fixture
def upstream() -> Iterator[SlowUpstream]:
    with slow_openai(delay_s=2.0) as running:
        yield running


@pytest.fixture
def replicas(database: str, upstream: SlowUpstream, tmp_path: Path) -> Iterator[list[Replica]]:
    """``REPLICAS`` servers started together on the database (procrastinate's schema applied once, by one)."""
    env = os.environ | {"ESCALADE_ADMIN_KEY": ADMIN_KEY, "OPENAI_API_KEY": FAKE_OPENAI_KEY}
    started: list[Replica] = []
    for n in range(REPLICAS):
        port = _free_port()
        command = [str(ESCALADE), "serve", "--port", str(port), "--db", database, "--provider", "openai"]
        command += [
            "--env-keys",
            "--base-url",
            upstream.url,
            "--workflow-lease",
            str(LEASE_S),
            "--log-level",
            "warning",
        ]
        with (tmp_path / f"replica{n}.log").open("wb") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append(Replica(process=process, url=f"http://127.0.0.1:{port}"))
    try:
        for replica in started:
            up = _until(lambda r=replica: _started(r), "a replica to start", 120)  # type: ignore[misc]
            assert up == "ready", (tmp_path / "replica0.log").read_text()
        yield started
    finally:
        for replica in started:
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in started:
            try:
                replica.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                replica.process.kill()


def _key(replica: Replica) -> dict[str, str]:
    response = httpx.post(
        f"{replica.url}/v1/admin/workspaces/acme/keys", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


def _submit(replica: Replica, headers: dict[str, str], description: str) -> str:
    body = {"task_description": description, "generate": True}
    response = httpx.post(f"{replica.url}/v1/escalation/submit", json=body, headers=headers)
    assert response.status_code == 202, response.text
    workflow_id: str = response.json()["workflow_id"]
    return workflow_id


def _status(replica: Replica, workflow_id: str, headers: dict[str, str]) -> dict[str, Any]:
    response = httpx.get(f"{replica.url}/v1/escalation/status/{workflow_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _owner_pid(engine: Engine, workflow_id: str) -> int | None:
    with engine.connect() as conn:
        owner = conn.scalar(select(WorkflowRow.owner).where(WorkflowRow.id == workflow_id))
    return None if owner is None else int(str(owner).split(":")[1])


def _finished(replica: Replica, workflow_id: str, headers: dict[str, str]) -> dict[str, Any] | None:
    status = _status(replica, workflow_id, headers)
    return status if status["state"] in {"completed", "failed", "cancelled"} else None


def _chat(replica: Replica, headers: dict[str, str]) -> httpx.Response:
    body = {"model": "escalade/cheap", "messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 16}
    return httpx.post(f"{replica.url}/v1/chat/completions", json=body, headers=headers, timeout=60)


def _spend_concurrently(replicas: list[Replica], headers: dict[str, str], engine: Engine) -> None:
    """What one call reserves learned, a cap set for about three more, then many calls at once on every
    replica: what is spent never passes the cap and is exactly what the settled calls cost; the rest get 402."""
    one = _chat(replicas[0], headers)
    assert one.status_code == 200, one.text
    cost = float(one.json()["escalade"]["cost_usd"])
    with engine.connect() as conn:
        reserved = sum(conn.scalars(select(BudgetHoldRow.amount)).all()) / 1e9  # the first call's holds only
    assert 0 < cost <= reserved
    cap = round(cost + 3.5 * reserved, 9)
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    budget = f"{replicas[1].url}/v1/admin/workspaces/acme/budget"
    put = httpx.put(budget, json={"monthly_limit_usd": cap}, headers=admin)
    assert put.status_code == 200, put.text
    time.sleep(1.5)  # past --cache-ttl: every replica has read the new cap
    with ThreadPoolExecutor(CONCURRENT) as pool:
        answers = list(pool.map(lambda n: _chat(replicas[n % REPLICAS], headers), range(CONCURRENT)))
    answered = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 402]
    assert len(answered) + len(refused) == CONCURRENT, [a.text for a in answers if a.status_code not in (200, 402)]
    with engine.connect() as conn:
        line = conn.execute(select(BudgetLineRow).where(BudgetLineRow.key.like("workspace:acme:month:%"))).one()
    assert answered, (cap, cost, reserved, line)
    assert refused, (cap, cost, reserved, line)
    assert all(r.json()["error"]["line"].startswith("workspace:acme:month:") for r in refused)
    with engine.connect() as conn:
        settled = conn.scalars(select(BudgetHoldRow.actual).where(BudgetHoldRow.status == "settled")).all()
    assert line.spent <= round(cap * 1e9)  # never past the cap, to the nano-dollar
    assert line.spent == sum(a or 0 for a in settled)  # every call's cost counted once: none lost, none twice
    # the answers' costs are all in it (a refused request may have paid for a call before its refusal)
    assert sum(float(a.json()["escalade"]["cost_usd"]) for a in answered) + cost <= line.spent / 1e9 + 1e-12
    assert line.reserved == 0
    clear = httpx.put(budget, json={}, headers=admin)
    assert clear.status_code == 200, clear.text
    time.sleep(1.5)


def test_replicas_share_cancel_and_survive_sigkill(
    replicas: list[Replica], database: str, upstream: SlowUpstream
) -> None:
    """Submitted on one, read and cancelled on another; a SIGKILLed owner's workflow completes elsewhere."""
    first, second, third, _ = replicas
    headers = _key(first)
    engine = create_engine(database)
    try:
        _spend_concurrently(replicas, headers, engine)

        # submitted on one replica, read on another, cancelled on a third while it runs
        cancelled = _submit(first, headers, "Fix a typo in the README")
        assert _status(second, cancelled, headers)["state"] in {"queued", "running"}
        _until(lambda: _status(second, cancelled, headers)["state"] == "running", "the workflow to start")
        response = httpx.post(f"{third.url}/v1/escalation/status/{cancelled}/cancel", headers=headers)
        assert response.status_code == 200, response.text
        assert _until(lambda: _finished(second, cancelled, headers), "the cancel")["state"] == "cancelled"

        # the replica running a workflow is killed mid-generation: another one finishes it
        survivor = _submit(second, headers, "Fix another typo in the README")
        _until(lambda: _owner_pid(engine, survivor), "a replica to claim it")
        asked = len(upstream.seen)
        _until(lambda: len(upstream.seen) > asked, "the generation to call the upstream")
        pid = _owner_pid(engine, survivor)
        victim = next(r for r in replicas if r.process.pid == pid)
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=10)
        alive = next(r for r in replicas if r is not victim)
        status = _until(lambda: _finished(alive, survivor, headers), "the workflow to finish elsewhere", 60)
        assert (status["state"], status["result"]) == ("completed", "good answer")
        assert status["attempts"] >= 2  # 2, or more when a loaded machine let a lease lapse once more
        assert _owner_pid(engine, survivor) != pid

        # the killed replica's budget hold expires (moved to now here) and a live replica's sweep reclaims it
        with engine.begin() as conn:
            held = conn.scalars(select(BudgetHoldRow.id).where(BudgetHoldRow.status == "held")).all()
            assert held, "the killed replica left no hold"
            conn.execute(update(BudgetHoldRow).where(BudgetHoldRow.id.in_(held)).values(expires_at=time.time() - 1))

        def reclaimed() -> bool:
            with engine.connect() as conn:
                holding = conn.scalar(select(BudgetHoldRow.id).where(BudgetHoldRow.status == "held").limit(1))
                reserved = conn.scalars(select(BudgetLineRow.reserved)).all()
            return holding is None and not any(reserved)

        _until(reclaimed, "the expired hold to be reclaimed")
    finally:
        engine.dispose()
