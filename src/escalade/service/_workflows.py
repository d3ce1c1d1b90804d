"""Running one submitted workflow: claim it, route (and answer) the task, keep the lease, finish it.

:meth:`WorkflowRunner.run` is what every job queue calls (:mod:`escalade.service._jobs`), in
whichever process picked the job up. Its state lives only in the database
(:class:`~escalade.store.WorkflowRepository`):

1. **claim** it (one conditional UPDATE; a workflow already claimed under a live lease, finished, or
   started ``workflow_max_attempts`` times is left alone, so a job delivered twice runs once);
2. **work** in a task of its own: route the task (triggers, context analysis of its Python files),
   then, when asked, answer it through the one-call pipeline on the workspace's upstream and budget;
3. meanwhile **renew** the lease every third of it; a renewal that reports a cancel cancels the
   work (its budget hold is released or expires and is reclaimed), one that finds the workflow lost
   (another process took it over) abandons the work without writing;
4. **finish**: ``completed`` with the result, ``failed`` with a message that names no prompt and no
   key, or ``cancelled``.

A process that shuts down gives its running workflows back (``queued``, the start not counted).
A process killed mid-run leaves the workflow ``running`` under a lease that nobody renews: the
:meth:`WorkflowRunner.sweep` of any replica then hands it out again, fails it after too many
starts, and reclaims the budget holds that expired with it.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from escalade.exceptions import EscaladeError
from escalade.pipeline import Escalade
from escalade.routing import RoutingDecision, task_hash
from escalade.service._escalation_models import triggers_of
from escalade.service._state import ServiceState
from escalade.service._task_files import task_of
from escalade.store import Workflow, WorkflowRepository

__all__ = ["WorkflowRunner"]

logger = logging.getLogger(__name__)


@dataclass
class WorkflowRunner:
    """Runs workflows in this process (see the module docstring)."""

    state: ServiceState

    @property
    def workflows(self) -> WorkflowRepository:
        return self.state.store.workflows

    @property
    def lease_s(self) -> float:
        return self.state.settings.workflow_lease_s

    async def run(self, workflow_id: str) -> str | None:
        """Run the workflow if it is free to start; the state it ended in (``None``: not run here)."""
        settings = self.state.settings
        claimed = await anyio.to_thread.run_sync(
            lambda: self.workflows.claim(
                workflow_id,
                owner=self.state.replica,
                lease_s=self.lease_s,
                max_attempts=settings.workflow_max_attempts,
            )
        )
        if claimed is None:
            return None
        logger.info("workflow %s started (attempt %d)", workflow_id, claimed.attempts)
        work = asyncio.create_task(self._work(claimed))
        try:
            ended = await self._keep_lease(workflow_id, work)
        except asyncio.CancelledError:  # the process shuts down: the workflow waits for the next one
            self.workflows.release(workflow_id, owner=self.state.replica)
            logger.info("workflow %s given back unfinished (this process stops)", workflow_id)
            raise
        finally:
            if not work.done():
                work.cancel()
                with suppress(asyncio.CancelledError, Exception):
                    await work
        if ended == "lost":
            logger.warning("workflow %s: another process took it over; this run is abandoned", workflow_id)
            return None
        if ended == "cancelled":
            return await self._finish(workflow_id, "cancelled", None, "cancelled on request")
        exc = work.exception()
        if exc is None:
            return await self._finish(workflow_id, "completed", work.result(), None)
        return await self._finish(workflow_id, "failed", None, _failure(workflow_id, exc))

    async def _keep_lease(
        self, workflow_id: str, work: asyncio.Task[dict[str, Any]]
    ) -> Literal["done", "cancelled", "lost"]:
        """Renew the lease until the work ends (``done``), a cancel is asked for (``cancelled``) or another
        process holds the lease (``lost``)."""
        every = self.lease_s / 3
        while True:
            done, _ = await asyncio.wait({work}, timeout=every)
            if done:
                return "done"
            asked = await anyio.to_thread.run_sync(
                lambda: self.workflows.renew(workflow_id, owner=self.state.replica, lease_s=self.lease_s)
            )
            if asked is None:
                return "lost"
            if asked:
                logger.info("workflow %s: cancel asked for; stopping it", workflow_id)
                return "cancelled"

    async def _finish(self, workflow_id: str, state: Any, result: dict[str, Any] | None, error: str | None) -> str:
        done = await anyio.to_thread.run_sync(
            lambda: self.workflows.finish(
                workflow_id, owner=self.state.replica, state=state, result=result, error=error
            )
        )
        if done:
            logger.info("workflow %s %s", workflow_id, state)
        return str(state)

    async def _work(self, workflow: Workflow) -> dict[str, Any]:
        """Route the workflow's task and, when asked, answer it; the result kept with the workflow."""
        request = workflow.request
        generate = bool(request.get("generate") or request.get("prompt"))
        pipelines = self.state.pipelines
        if generate:  # its run is stored as it happens: nobody waits for it, statistics read it back at once
            escalade = await anyio.to_thread.run_sync(lambda: pipelines.escalade(workflow.workspace, behind=False))
        else:  # routing alone needs no upstream key
            escalade = await anyio.to_thread.run_sync(pipelines.routing, workflow.workspace)
        task, _ = task_of(
            request["task_description"],
            request.get("task_type"),
            request.get("files_to_modify", []),
            request.get("files", {}),
            root=None,  # files under the root were read when it was submitted
        )
        decision = await anyio.to_thread.run_sync(lambda: escalade.router.route(task, escalade.preferences))
        result = _routed(escalade, decision) | {"task_hash": task_hash(task), "generated": False}
        prompt = request.get("prompt")
        if not generate:
            return result
        answer = await escalade.agenerate(
            prompt or task.description,
            task_type=task.task_type,
            files=dict(task.file_contents),
            tier=decision.tier if prompt and prompt != task.description else None,
        )
        ended = answer.tier_ended or decision.tier
        return result | {
            "generated": True,
            "should_escalate": _above_bottom(escalade, ended) or result["should_escalate"],
            "recommended_model": answer.model or result["recommended_model"],
            "tier_ended": answer.tier_ended,
            "models_tried": list(answer.models_tried),
            "cost": answer.cost_usd,
            "answer": answer.text,
            "status": answer.status,
            "run_id": answer.run_id,
        }

    async def sweep(self) -> list[str]:
        """End workflows whose processes died for good, reclaim expired budget holds; the ids to start again."""

        def swept() -> list[str]:
            ended = self.workflows.expire(max_attempts=self.state.settings.workflow_max_attempts)
            reclaimed = self.state.pipelines.ledger.reclaim_expired()
            if ended or reclaimed:
                logger.info("sweep: %d workflow(s) ended, %d budget hold(s) reclaimed", ended, reclaimed)
            return self.workflows.resumable()

        return await anyio.to_thread.run_sync(swept)


def _above_bottom(escalade: Escalade, tier: str) -> bool:
    return escalade.config.tiers.index_of(tier) > 0


def _routed(escalade: Escalade, decision: RoutingDecision) -> dict[str, Any]:
    """The routing verdict, JSON-ready."""
    return {
        "should_escalate": _above_bottom(escalade, decision.tier),
        "recommended_model": decision.models[0] if decision.models else None,
        "tier": decision.tier,
        "confidence": decision.confidence,
        "reasons": list(decision.reasons),
        "triggers": triggers_of(decision),
        "cost": 0.0,
    }


def _failure(workflow_id: str, exc: BaseException) -> str:
    """What a failed workflow tells its reader: escalade's own message, else only the kind of error."""
    if isinstance(exc, EscaladeError):
        return str(exc)
    logger.error("workflow %s failed: %s", workflow_id, type(exc).__name__)
    logger.debug("traceback", exc_info=exc)
    return f"internal error ({type(exc).__name__}); the server's log names it with the workflow id"
