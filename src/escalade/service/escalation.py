"""Seed 001's escalation API: submit a task, read its workflow's status, cancel it, analyse, statistics.

==========================================  ==========================================================
``POST /v1/escalation/submit``              202 ``{workflow_id, state}``; routing (and, with ``generate``
                                            or a ``prompt``, the answer) runs in the background
``GET /v1/escalation/status/{id}``          the workflow's state and, once routed, its verdict
``POST /v1/escalation/status/{id}/cancel``  cancel it (409 once it has finished)
``POST /v1/escalation/analyze``             complexity, business impact and risk, with their scores
``GET /v1/escalation/statistics``           escalation and success rates, trigger outcomes, cost
==========================================  ==========================================================

Every route reads only the caller's workspace: another workspace's workflow id is answered 404,
exactly as an unknown one. Files come inline (``files``), or are read under the server's
``files_root`` (:mod:`escalade.service._task_files`).
"""

from __future__ import annotations

from statistics import fmean
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Path, Request

from escalade.service._auth import Principal, require_key
from escalade.service._errors import ERROR_RESPONSES, ApiError, not_found
from escalade.service._escalation_models import (
    Analysis,
    AnalyzeRequest,
    Cancelled,
    Statistics,
    SubmitRequest,
    Submitted,
    TriggerOut,
    TriggerStatsOut,
    WorkflowStatus,
    analysis_of,
)
from escalade.service._state import ServiceState, state_of
from escalade.service._task_files import task_of, workspace_root
from escalade.store import Workflow

__all__ = ["router"]

router = APIRouter(prefix="/v1/escalation", tags=["escalation"], responses=ERROR_RESPONSES)

Caller = Annotated[Principal, Depends(require_key)]
WorkflowId = Annotated[str, Path(min_length=1, max_length=64)]
#: How many of the newest completed workflows the statistics read.
STATISTICS_SAMPLE = 10_000
TRIGGER_SCOPE = (
    "outcomes of this workspace's own requests (submitted workflows and chat completions), each "
    "trigger and task counted once"
)


def _status(workflow: Workflow) -> WorkflowStatus:
    result: dict[str, Any] = workflow.result or {}
    return WorkflowStatus(
        workflow_id=workflow.id,
        state=workflow.state,
        should_escalate=result.get("should_escalate"),
        recommended_model=result.get("recommended_model"),
        tier=result.get("tier"),
        confidence=result.get("confidence"),
        reasons=result.get("reasons", []),
        triggers=[TriggerOut(**t) for t in result.get("triggers", [])],
        cost=result.get("cost"),
        result=result.get("answer"),
        tier_ended=result.get("tier_ended"),
        models_tried=result.get("models_tried", []),
        error=workflow.error,
        cancel_requested=workflow.cancel_requested,
        attempts=workflow.attempts,
        priority=workflow.request.get("priority"),
        requester=workflow.request.get("requester"),
        created_at=workflow.created_at,
        updated_at=workflow.updated_at,
        started_at=workflow.started_at,
        finished_at=workflow.finished_at,
    )


def _mine(state: ServiceState, workflow_id: str, caller: Principal) -> Workflow:
    found = state.store.workflows.get(workflow_id, workspace=caller.workspace)
    if found is None:
        raise not_found("workflow", workflow_id, param="workflow_id")
    return found


@router.post("/submit", status_code=202)
async def submit(body: SubmitRequest, request: Request, caller: Caller) -> Submitted:
    """Accept a task; its workflow routes it (and answers it when asked) in the background."""
    state = state_of(request)
    files = body.files_to_modify
    task, _ = await anyio.to_thread.run_sync(
        lambda: task_of(
            body.task_description,
            body.task_type,
            files,
            body.files,
            root=workspace_root(state.settings.files_root, caller.workspace),
        )
    )
    stored = body.model_dump() | {"files": dict(task.file_contents)}
    limit = state.settings.max_open_workflows
    made = await anyio.to_thread.run_sync(
        lambda: state.store.workflows.submit(caller.workspace, stored, max_open=limit)
    )
    if made is None:
        raise ApiError(
            429,
            f"workspace {caller.workspace!r} already has {limit} workflows queued or running; "
            "wait for some to finish, or cancel some",
            type="rate_limit_error",
            code="too_many_workflows",
        )
    await state.parts["workflows"].enqueue(made.id)
    return Submitted(workflow_id=made.id, state=made.state)


@router.get("/status/{workflow_id}")
def status(workflow_id: WorkflowId, request: Request, caller: Caller) -> WorkflowStatus:
    """The workflow's state, attempts and timestamps, and once routed: its tier, model, reasons, cost, answer."""
    return _status(_mine(state_of(request), workflow_id, caller))


@router.post("/status/{workflow_id}/cancel")
def cancel(workflow_id: WorkflowId, request: Request, caller: Caller) -> Cancelled:
    """Cancel a workflow: a queued one at once, a running one when its process next checks (409: finished)."""
    found = state_of(request).store.workflows.cancel(workflow_id, workspace=caller.workspace)
    if found is None:
        raise not_found("workflow", workflow_id, param="workflow_id")
    workflow, changed = found
    if not changed:
        raise ApiError(
            409,
            f"workflow {workflow_id!r} has already finished ({workflow.state}); there is nothing to cancel",
            type="invalid_request_error",
            param="workflow_id",
            code="workflow_finished",
        )
    return Cancelled(workflow_id=workflow.id, state=workflow.state, cancel_requested=workflow.cancel_requested)


@router.post("/analyze")
def analyze(body: AnalyzeRequest, request: Request, caller: Caller) -> Analysis:
    """Seed 001's context analysis: complexity, business impact and risk levels with their scores."""
    state = state_of(request)
    task, unread = task_of(
        body.task_description,
        body.task_type,
        body.files_to_modify,
        body.files,
        root=workspace_root(state.settings.files_root, caller.workspace),
    )
    escalade = state.pipelines.routing(caller.workspace)
    decision = escalade.router.route(task, escalade.preferences)
    analysis = analysis_of(decision.analysis, decision)
    unparseable = analysis.unparseable | dict.fromkeys(unread, "not read: send its contents in 'files'")
    return analysis.model_copy(update={"unparseable": unparseable})


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@router.get("/statistics")
def statistics(request: Request, caller: Caller) -> Statistics:
    """The workspace's escalation and success rates, trigger outcomes, cost efficiency and confidence."""
    state = state_of(request)
    workflows = state.store.workflows
    counts = workflows.counts(caller.workspace)
    results = workflows.results(caller.workspace, limit=STATISTICS_SAMPLE)
    escalated = [r for r in results if r.get("should_escalate")]
    finished = counts.get("completed", 0) + counts.get("failed", 0)
    total_cost = sum(float(r.get("cost") or 0.0) for r in results)
    escalated_cost = sum(float(r.get("cost") or 0.0) for r in escalated)
    stats = state.store.triggers.trigger_stats(workspace=caller.workspace)
    confidences = [float(r["confidence"]) for r in results if isinstance(r.get("confidence"), int | float)]
    return Statistics(
        workspace=caller.workspace,
        workflows=counts,
        escalation_rate=_rate(len(escalated), len(results)),
        success_rate=_rate(counts.get("completed", 0), finished),
        cost_efficiency={
            "total_cost_usd": round(total_cost, 9),
            "cost_per_workflow_usd": round(total_cost / len(results), 9) if results else None,
            "escalated_share_of_cost": round(escalated_cost / total_cost, 4) if total_cost else None,
        },
        validation_confidence=round(fmean(confidences), 4) if confidences else None,
        triggers=[
            TriggerStatsOut(
                trigger=s.trigger,
                true_positives=s.true_positives,
                false_positives=s.false_positives,
                false_negatives=s.false_negatives,
                true_negatives=s.true_negatives,
                precision=s.precision,
                false_negative_rate=s.false_negative_rate,
            )
            for s in stats.values()
        ],
        trigger_scope=TRIGGER_SCOPE,
        sample=len(results),
    )
