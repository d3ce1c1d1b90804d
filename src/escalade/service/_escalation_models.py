"""The bodies of seed 001's escalation API (``/v1/escalation/...``), with the seed's field names.

Requests refuse unknown fields (``extra="forbid"``) and bound every size: the description, the
prompt, how many files and how long each one is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from escalade.routing import Assessment, ContextAnalysis, RoutingDecision

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "MAX_FILES",
    "MAX_FILE_CHARS",
    "Analysis",
    "AnalyzeRequest",
    "Cancelled",
    "Statistics",
    "SubmitRequest",
    "Submitted",
    "TriggerOut",
    "TriggerStatsOut",
    "WorkflowStatus",
    "analysis_of",
    "triggers_of",
]

#: Longest task description.
MAX_DESCRIPTION_CHARS = 20_000
#: Longest prompt of a generation.
MAX_PROMPT_CHARS = 200_000
#: Most files a task may name (or send inline).
MAX_FILES = 100
#: Longest file sent inline or read under the files root (characters; bytes when read).
MAX_FILE_CHARS = 256 * 1024

FilePath = Annotated[str, Field(min_length=1, max_length=1000)]
Label = Annotated[str, Field(min_length=1, max_length=200)]


class _Task(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: What is asked, in words (the triggers read it).
    task_description: str = Field(min_length=1, max_length=MAX_DESCRIPTION_CHARS)
    #: Paths of the files the task will modify (contents from ``files``, else read under the server's files root).
    files_to_modify: list[FilePath] = Field(default_factory=list, max_length=MAX_FILES)
    #: Kind of work: ``implementation``, ``bugfix``, ``refactor``, ``docs``...
    task_type: str | None = Field(default=None, max_length=50)
    #: Contents of files by path, sent inline (Python files are analysed).
    files: dict[FilePath, Annotated[str, Field(max_length=MAX_FILE_CHARS)]] = Field(
        default_factory=dict, max_length=MAX_FILES
    )


class AnalyzeRequest(_Task):
    """``POST /v1/escalation/analyze``."""


class SubmitRequest(_Task):
    """``POST /v1/escalation/submit``: route the task, and with ``generate`` (or a ``prompt``) answer it."""

    #: Who asks (a person or a program); kept with the workflow.
    requester: Label | None = None
    priority: Literal["low", "medium", "high", "critical"] = "medium"
    #: What the model is asked (default: the task description); giving one implies ``generate``.
    prompt: str | None = Field(default=None, min_length=1, max_length=MAX_PROMPT_CHARS)
    #: Answer the task through the pipeline after routing it (billed to the workspace).
    generate: bool = False


class Submitted(BaseModel):
    """The accepted workflow: its id, to read its status with."""

    workflow_id: str
    state: str


class TriggerOut(BaseModel):
    name: str
    category: str
    confidence: float
    reason: str


class Analysis(BaseModel):
    """Seed 001's three levels, each with its score and the numbers it came from."""

    complexity_level: str
    complexity_score: float
    business_impact: str
    business_impact_score: float
    risk_level: str
    risk_score: float
    #: The numbers behind each level, by assessment.
    basis: dict[str, dict[str, float]]
    triggers: list[TriggerOut]
    #: Python files analysed, and those that could not be (with why).
    files_analyzed: list[str]
    unparseable: dict[str, str]


class WorkflowStatus(BaseModel):
    """``GET /v1/escalation/status/{workflow_id}``: where the workflow is, and, once routed, its verdict."""

    workflow_id: str
    #: ``queued``, ``running``, ``completed``, ``failed`` or ``cancelled``.
    state: str
    should_escalate: bool | None = None
    recommended_model: str | None = None
    tier: str | None = None
    confidence: float | None = None
    reasons: list[str] = Field(default_factory=list)
    triggers: list[TriggerOut] = Field(default_factory=list)
    #: USD spent on the generation (0 when it only routed).
    cost: float | None = None
    #: The answer text, when the workflow generated one.
    result: str | None = None
    #: The tier of the answer, and the models asked in order (with a generation).
    tier_ended: str | None = None
    models_tried: list[str] = Field(default_factory=list)
    error: str | None = None
    cancel_requested: bool
    attempts: int
    priority: str | None = None
    requester: str | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class Cancelled(BaseModel):
    """The workflow after a cancel: ``cancelled`` at once when it was queued, else ``running`` until it stops."""

    workflow_id: str
    state: str
    cancel_requested: bool


class TriggerStatsOut(BaseModel):
    trigger: str
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    precision: float | None
    false_negative_rate: float | None


class Statistics(BaseModel):
    """``GET /v1/escalation/statistics``: the caller's workspace only."""

    workspace: str
    #: Workflows by state.
    workflows: dict[str, int]
    #: Share of completed workflows that should escalate (start, or end, above the cheapest tier).
    escalation_rate: float | None
    #: Completed workflows over those that finished completed or failed.
    success_rate: float | None
    #: USD spent in all, per completed workflow, and the share spent on escalated ones.
    cost_efficiency: dict[str, float | None]
    #: Mean routing confidence of the completed workflows.
    validation_confidence: float | None
    #: True and false positives and negatives per trigger, on this workspace's tasks.
    triggers: list[TriggerStatsOut]
    #: What the trigger counts cover (the workspace's own requests).
    trigger_scope: str
    #: How many of the newest completed workflows the rates are computed over.
    sample: int


def triggers_of(decision: RoutingDecision) -> list[dict[str, Any]]:
    """The decision's triggers, JSON-ready."""
    return [
        {"name": t.name, "category": t.category.value, "confidence": t.confidence, "reason": t.reason}
        for t in decision.triggers
    ]


def _level(assessment: Assessment) -> tuple[str, float, dict[str, float]]:
    return str(assessment.level), float(assessment.score), dict(assessment.basis)


def analysis_of(analysis: ContextAnalysis | None, decision: RoutingDecision) -> Analysis:
    """The seed's analysis of a routed task (``analysis`` ``None``: the router analysed no file)."""
    if analysis is None:
        raise ValueError("the router has no context analyzer")
    complexity, business, risk = (_level(a) for a in (analysis.complexity, analysis.business_impact, analysis.risk))
    return Analysis(
        complexity_level=complexity[0],
        complexity_score=complexity[1],
        business_impact=business[0],
        business_impact_score=business[1],
        risk_level=risk[0],
        risk_score=risk[1],
        basis={"complexity": complexity[2], "business_impact": business[2], "risk": risk[2]},
        triggers=[TriggerOut(**t) for t in triggers_of(decision)],
        files_analyzed=[f.path for f in analysis.files],
        unparseable=dict(analysis.unparseable),
    )
