"""Who runs submitted workflows: procrastinate's job queue on PostgreSQL, asyncio tasks otherwise.

With ``jobs="auto"`` on PostgreSQL, every replica runs a procrastinate worker in its lifespan, and a
submitted workflow is deferred as one job (``queueing_lock`` = the workflow id: one job waiting per
workflow). procrastinate's schema is applied at the first start, under a PostgreSQL advisory lock,
so that replicas starting together apply it once. On SQLite (or with ``jobs="inprocess"``) the
process runs its workflows as asyncio tasks.

Either way a **sweep** runs in every process at start and then twice per lease: it ends the
workflows whose processes died too often, reclaims expired budget holds, retries procrastinate jobs
whose worker stopped sending heartbeats (a SIGKILLed replica), and hands out again every workflow
left ``queued`` or ``running`` under an expired lease. A job delivered twice is harmless: the
runner's claim (:meth:`~escalade.store.WorkflowRepository.claim`) lets one run through.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, Protocol

from escalade.service._state import ServiceState
from escalade.service._workflows import WorkflowRunner

__all__ = ["InProcessQueue", "JobQueue", "guarded", "start_workflows"]

logger = logging.getLogger(__name__)


class JobQueue(Protocol):
    """Hands a workflow to a process that runs it."""

    async def enqueue(self, workflow_id: str) -> None:
        """Have the workflow run (at most once at a time, wherever)."""
        ...

    async def recover(self) -> None:
        """Take back the jobs of processes that died (part of every sweep)."""
        ...

    async def stop(self) -> None:
        """Stop running workflows in this process (those running stay claimed until their lease expires)."""
        ...


async def guarded(runner: WorkflowRunner, workflow_id: str) -> None:
    """Run it; an error (the database gone) is logged, and the sweep hands the workflow out again."""
    try:
        await runner.run(workflow_id)
    except Exception as exc:
        logger.warning("workflow %s: run stopped by %s; the sweep retries it", workflow_id, type(exc).__name__)


class InProcessQueue:
    """Runs each workflow as an asyncio task of this process."""

    def __init__(self, runner: WorkflowRunner) -> None:
        self.runner = runner
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def enqueue(self, workflow_id: str) -> None:
        running = self._tasks.get(workflow_id)
        if running is not None and not running.done():
            return
        task = asyncio.create_task(guarded(self.runner, workflow_id), name=f"workflow {workflow_id}")
        self._tasks[workflow_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(workflow_id, None))

    async def recover(self) -> None:
        return None

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _sweep_forever(runner: WorkflowRunner, queue: JobQueue, every_s: float) -> None:
    while True:
        try:
            await queue.recover()
            for workflow_id in await runner.sweep():
                await queue.enqueue(workflow_id)
        except Exception as exc:  # the database gone for a while: the next sweep tries again
            logger.warning("workflow sweep failed: %s", type(exc).__name__)
        await asyncio.sleep(every_s)


def _uses_procrastinate(state: ServiceState) -> bool:
    return state.settings.jobs == "auto" and state.store.engine.dialect.name == "postgresql"


async def start_workflows(state: ServiceState) -> Callable[[], Awaitable[None]]:
    """The workflow feature of the app: a queue in ``state.parts["workflows"]``, a sweep; returns its stop."""
    runner = WorkflowRunner(state)
    queue: Any
    if _uses_procrastinate(state):
        from escalade.service._procrastinate import ProcrastinateQueue  # noqa: PLC0415  (PostgreSQL only)

        queue = ProcrastinateQueue(state, runner)
        await queue.start()
    else:
        queue = InProcessQueue(runner)
    state.parts["workflows"] = queue
    sweeper = asyncio.create_task(_sweep_forever(runner, queue, state.settings.workflow_lease_s / 2))

    async def stop() -> None:
        sweeper.cancel()
        with suppress(asyncio.CancelledError):
            await sweeper
        await queue.stop()

    return stop
