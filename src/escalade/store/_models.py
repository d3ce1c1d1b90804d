"""SQLAlchemy 2 tables of the result store (schema changes go through Alembic migrations)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiKeyRow",
    "AttemptRow",
    "AuditEntryRow",
    "AuditHeadRow",
    "AutonomyAreaRow",
    "AutonomyCalibrationRow",
    "AutonomyDecisionRow",
    "AutonomyOffsetRow",
    "Base",
    "BudgetHoldRow",
    "BudgetLineRow",
    "EscalationRow",
    "InboxItemRow",
    "ItemRow",
    "ProviderKeyRow",
    "RunRow",
    "TelemetryEventRow",
    "TriggerOutcomeRow",
    "WorkflowRow",
    "WorkspaceBudgetRow",
    "WorkspacePreferencesRow",
    "WorkspaceRow",
]


class Base(DeclarativeBase):
    """Declarative base of escalade's tables."""


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    workflow: Mapped[str] = mapped_column(String(100), index=True)
    #: ``running`` until the run ends: ``completed`` (every item answered), ``partial`` (some items have no
    #: answer), ``failed`` (no item has one), ``aborted`` (budget, a failing listener) or ``interrupted``.
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    tier_names: Mapped[list[str]] = mapped_column(JSON)
    config: Mapped[dict[str, object]] = mapped_column(JSON)
    metrics: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)


class AttemptRow(Base):
    __tablename__ = "attempts"
    __table_args__ = (Index("ix_attempts_run_item", "run_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(300))
    tier: Mapped[str] = mapped_column(String(100))
    attempt: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(300))
    cqs: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    #: The error's cause from its class (``authentication``, ``connection``...); ``None`` when answered.
    error_cause: Mapped[str | None] = mapped_column(String(40))
    cost_usd: Mapped[float] = mapped_column(Float)
    input_tokens: Mapped[int] = mapped_column(Integer)
    cached_input_tokens: Mapped[int] = mapped_column(Integer)
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0)
    price_data_version: Mapped[str | None] = mapped_column(String(200))
    output_tokens: Mapped[int] = mapped_column(Integer)
    calls: Mapped[int] = mapped_column(Integer)
    latency_s: Mapped[float] = mapped_column(Float)
    signals: Mapped[dict[str, object] | None] = mapped_column(JSON)
    answer: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ItemRow(Base):
    __tablename__ = "items"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    final_tier: Mapped[str | None] = mapped_column(String(100))
    final_model: Mapped[str | None] = mapped_column(String(300))
    final_cqs: Mapped[float | None] = mapped_column(Float)
    escalated: Mapped[bool] = mapped_column(Boolean)
    cost_usd: Mapped[float] = mapped_column(Float)
    premium_baseline_usd: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    prompt: Mapped[str | None] = mapped_column(Text)


class EscalationRow(Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(300))
    from_tier: Mapped[str] = mapped_column(String(100))
    to_tier: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TelemetryEventRow(Base):
    """A privacy-preserving usage event: numbers and names only, never prompt or response text."""

    __tablename__ = "telemetry_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    event: Mapped[str] = mapped_column(String(50))
    workflow: Mapped[str] = mapped_column(String(100))
    run_id: Mapped[str | None] = mapped_column(String(100))
    user_hash: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(300))
    cost_usd: Mapped[float | None] = mapped_column(Float)
    tokens: Mapped[int | None] = mapped_column(Integer)
    cqs: Mapped[float | None] = mapped_column(Float)
    escalated: Mapped[bool | None] = mapped_column(Boolean)
    duration_s: Mapped[float | None] = mapped_column(Float)
    data: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class TriggerOutcomeRow(Base):
    """What happened after a trigger fired: was the task escalated, and was a strong tier needed?

    The task is kept as a SHA-256 hash of its description only, never its text.
    """

    __tablename__ = "trigger_outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    trigger: Mapped[str] = mapped_column(String(100), index=True)
    category: Mapped[str] = mapped_column(String(50))
    confidence: Mapped[float] = mapped_column(Float)
    escalated: Mapped[bool] = mapped_column(Boolean)
    needed: Mapped[bool] = mapped_column(Boolean)
    task_hash: Mapped[str] = mapped_column(String(64))
    #: The workspace whose request this came from (``None``: recorded outside any, or before 0011).
    workspace: Mapped[str | None] = mapped_column(String(100), nullable=True)

    __table_args__ = (Index("ix_trigger_outcomes_workspace_trigger", "workspace", "trigger"),)


class ProviderKeyRow(Base):
    """A workspace's API key for one provider, encrypted (Fernet) with the master key."""

    __tablename__ = "provider_keys"

    workspace: Mapped[str] = mapped_column(String(100), primary_key=True)
    provider: Mapped[str] = mapped_column(String(100), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BudgetLineRow(Base):
    """One budget of the ledger (a run, a request, a workspace's month), in integer nano-dollars.

    ``spent + reserved <= cap`` holds whenever ``cap`` is set: every reservation is one conditional
    ``UPDATE`` of this row (see :mod:`escalade.store._ledger`).
    """

    __tablename__ = "budget_lines"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    #: Cap in nano-dollars; ``NULL``: the line only counts.
    cap: Mapped[int | None] = mapped_column(BigInteger)
    spent: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Outcome of the latest reservation statement on this row; only that statement reads it back.
    granted: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BudgetHoldRow(Base):
    """Money held on budget lines for one call, until settled, released or reclaimed after expiry."""

    __tablename__ = "budget_holds"
    __table_args__ = (Index("ix_budget_holds_status_expiry", "status", "expires_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: Keys of the lines the amount is held on.
    lines: Mapped[list[str]] = mapped_column(JSON)
    amount: Mapped[int] = mapped_column(BigInteger)
    #: ``held``, ``settled``, ``released`` or ``expired`` (reclaimed).
    status: Mapped[str] = mapped_column(String(10))
    #: The bill counted on settlement, in nano-dollars.
    actual: Mapped[int | None] = mapped_column(BigInteger)
    owner: Mapped[str] = mapped_column(String(400), default="")
    created_at: Mapped[float] = mapped_column(Float)
    #: Unix time after which the hold may be reclaimed.
    expires_at: Mapped[float] = mapped_column(Float)


class WorkspaceBudgetRow(Base):
    """A workspace's standing budget: monthly cap, per-request cap, the time zone months are counted in."""

    __tablename__ = "workspace_budgets"

    workspace: Mapped[str] = mapped_column(String(100), primary_key=True)
    monthly_limit_usd: Mapped[float | None] = mapped_column(Float)
    per_request_limit_usd: Mapped[float | None] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WorkspacePreferencesRow(Base):
    """A workspace's routing preferences (:class:`~escalade.routing.WorkspacePreferences`); budgets stay on
    ``workspace_budgets`` and the ledger."""

    __tablename__ = "workspace_preferences"

    workspace: Mapped[str] = mapped_column(String(100), primary_key=True)
    min_tier: Mapped[str | None] = mapped_column(String(100))
    max_tier: Mapped[str | None] = mapped_column(String(100))
    default_tier: Mapped[str | None] = mapped_column(String(100))
    #: Provider names, in preference order.
    preferred_providers: Mapped[list[str]] = mapped_column(JSON)
    #: Tier name to model names, each list in preference order.
    preferred_models: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    auto_escalation: Mapped[bool] = mapped_column(Boolean)
    #: The quality policy's scorer (``NULL``: no policy).
    quality_scorer: Mapped[str | None] = mapped_column(String(100))
    #: The quality policy's CQS bar (``NULL``: the tiers' thresholds).
    quality_threshold: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AutonomyDecisionRow(Base):
    """An agent's decision as the escalation engine judged it, and later its outcome."""

    __tablename__ = "autonomy_decisions"
    __table_args__ = (
        UniqueConstraint("workspace", "decision_id", name="uq_autonomy_decisions_workspace_id"),
        Index("ix_autonomy_decisions_workspace_type", "workspace", "type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace: Mapped[str] = mapped_column(String(100))
    decision_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    agent: Mapped[str | None] = mapped_column(String(200))
    profile: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(30))
    environment: Mapped[str | None] = mapped_column(String(20))
    escalated: Mapped[bool] = mapped_column(Boolean)
    risk_accepted: Mapped[bool] = mapped_column(Boolean)
    confidence: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    priority: Mapped[str] = mapped_column(String(10))
    rule_hits: Mapped[list[str]] = mapped_column(JSON)
    #: Escalated whatever the confidence (profile, rule, criticality, calibration).
    forced: Mapped[bool] = mapped_column(Boolean)
    recommendation: Mapped[str] = mapped_column(String(10))
    affected_files: Mapped[list[str]] = mapped_column(JSON)
    affected_systems: Mapped[list[str]] = mapped_column(JSON)
    record_count: Mapped[int] = mapped_column(BigInteger)
    estimated_cost: Mapped[float] = mapped_column(Float)
    #: Drawn for the uniform audit sample.
    sampled: Mapped[bool] = mapped_column(Boolean)
    audit_seq: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[dict[str, object] | None] = mapped_column(JSON)
    outcome_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The outcome's audit entry.
    outcome_seq: Mapped[int | None] = mapped_column(Integer)
    #: Would proceeding have been an error (from the outcome; ``NULL`` while unknown).
    label: Mapped[bool | None] = mapped_column(Boolean)


class AutonomyAreaRow(Base):
    """Labelled outcomes per file or system a workspace's decisions touched (familiarity)."""

    __tablename__ = "autonomy_areas"

    workspace: Mapped[str] = mapped_column(String(100), primary_key=True)
    area: Mapped[str] = mapped_column(String(600), primary_key=True)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class AutonomyOffsetRow(Base):
    """A learned threshold offset: ``type:<type>`` (learning) or ``rate:<profile>`` (rate control)."""

    __tablename__ = "autonomy_offsets"

    workspace: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class AutonomyCalibrationRow(Base):
    """A certification of confidence floors (the newest per workspace is in force)."""

    __tablename__ = "autonomy_calibrations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(100), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[dict[str, object]] = mapped_column(JSON)
    #: The calibration's audit entry.
    audit_seq: Mapped[int | None] = mapped_column(Integer)


class AuditEntryRow(Base):
    """One entry of the hash-chained audit trail; ``body`` is exactly the text that was hashed."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The newest audit entry's position and hash (one row, locked while appending)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class WorkspaceRow(Base):
    """A workspace created by an administrator (``escalade serve``); others exist once anything names them."""

    __tablename__ = "workspaces"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKeyRow(Base):
    """An API key of ``escalade serve``: the SHA-256 of its secret only, never the key itself."""

    __tablename__ = "api_keys"

    #: The key's public id (its first part, shown in listings and logs).
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(100), index=True)
    #: A label for people (``ci``, ``alice``); not secret.
    name: Mapped[str | None] = mapped_column(String(100))
    #: Hex SHA-256 of the secret part.
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: A per-person token: the person it signs in (``None``: a workspace key).
    person: Mapped[str | None] = mapped_column(String(100))
    #: The person's roles (``sre``...), as a JSON list (``None``: none).
    roles: Mapped[list[str] | None] = mapped_column(JSON)


class WorkflowRow(Base):
    """A submitted escalation workflow (``POST /v1/escalation/submit``): its request, state and result."""

    __tablename__ = "workflows"
    __table_args__ = (
        Index("ix_workflows_state_lease", "state", "lease_until"),
        Index("ix_workflows_workspace_created", "workspace", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(100))
    #: ``queued``, ``running``, ``completed``, ``failed`` or ``cancelled``.
    state: Mapped[str] = mapped_column(String(20))
    request: Mapped[dict[str, object]] = mapped_column(JSON)
    result: Mapped[dict[str, object] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    #: Set by a cancel while it runs; the process running it stops at its next check.
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    #: How many times a process started it (a replica that died mid-run leaves it to be started again).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: The process running it, and until when its claim holds unless renewed.
    owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InboxItemRow(Base):
    """An escalated decision waiting for (or answered by) a person: :class:`escalade.inbox.InboxItem`.

    What changes (state, assignees, deferral, batch, answer) has its own columns; what an item is
    (description, reasons, classification...) is one JSON ``body`` written once.
    """

    __tablename__ = "inbox_items"
    __table_args__ = (
        UniqueConstraint("workspace", "decision_id", name="uq_inbox_items_decision"),
        Index("ix_inbox_items_workspace_state", "workspace", "state", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(100))
    decision_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(20))
    assignees: Mapped[list[str]] = mapped_column(JSON)
    body: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    batch_id: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by: Mapped[str | None] = mapped_column(String(100))
    response: Mapped[dict[str, object] | None] = mapped_column(JSON)
