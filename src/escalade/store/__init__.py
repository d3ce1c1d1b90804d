"""The result store: SQLAlchemy models, Alembic migrations, one repository per concept, and the SQL store.

Every repository works in one :class:`Database` (engine, sessions, migration on open);
:class:`SqlStore` opens it and is a thin facade over the repositories, which it exposes as
``store.runs``, ``store.triggers``, ``store.telemetry``, ``store.budgets``, ``store.provider_keys``,
``store.retention``, ``store.preferences`` (workspace preferences), ``store.api_keys`` (the service's keys) and
``store.workflows`` (submitted workflows).
"""

from escalade.store._api_keys import API_KEY_PREFIX, MAX_KEY_ROLES, ApiKey, ApiKeyRepository, NewApiKey
from escalade.store._autonomy import SqlAutonomyStore
from escalade.store._base import CleanupReport, LoggedItem, LoggedTier, RunStore, RunSummary
from escalade.store._budgets import BudgetRepository
from escalade.store._engine import Database, engine_of
from escalade.store._inbox import SqlInboxStore
from escalade.store._keys import MASTER_KEY_ENV, PROVIDER_ENV_VARS, KeyVault, SecretKey, redact
from escalade.store._ledger import SqlLedger
from escalade.store._migrate import current_revision, head_revision, upgrade
from escalade.store._models import (
    ApiKeyRow,
    AttemptRow,
    AuditEntryRow,
    AuditHeadRow,
    AutonomyAreaRow,
    AutonomyCalibrationRow,
    AutonomyDecisionRow,
    AutonomyOffsetRow,
    Base,
    BudgetHoldRow,
    BudgetLineRow,
    EscalationRow,
    ItemRow,
    ProviderKeyRow,
    RunRow,
    TelemetryEventRow,
    TriggerOutcomeRow,
    WorkflowRow,
    WorkspaceBudgetRow,
    WorkspacePreferencesRow,
    WorkspaceRow,
)
from escalade.store._provider_keys import ProviderKeyRepository
from escalade.store._retention import RetentionRepository
from escalade.store._runs import RunRepository
from escalade.store._sql import SqlStore
from escalade.store._telemetry import TelemetryRepository
from escalade.store._transactions import transaction
from escalade.store._trigger_recorder import TriggerOutcomeRecorder
from escalade.store._triggers import TriggerRepository
from escalade.store._urls import default_database_url, first_line, resolve_database_url
from escalade.store._workflows import FINISHED_STATES, Workflow, WorkflowRepository, WorkflowState
from escalade.store._workspaces import MAX_WORKSPACE_CHARS, WorkspaceRepository, check_workspace_name
from escalade.store._write_behind import DeferredRuns, WriteBehind

__all__ = [
    "API_KEY_PREFIX",
    "FINISHED_STATES",
    "MASTER_KEY_ENV",
    "MAX_KEY_ROLES",
    "MAX_WORKSPACE_CHARS",
    "PROVIDER_ENV_VARS",
    "ApiKey",
    "ApiKeyRepository",
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
    "BudgetRepository",
    "CleanupReport",
    "Database",
    "DeferredRuns",
    "EscalationRow",
    "ItemRow",
    "KeyVault",
    "LoggedItem",
    "LoggedTier",
    "NewApiKey",
    "ProviderKeyRepository",
    "ProviderKeyRow",
    "RetentionRepository",
    "RunRepository",
    "RunRow",
    "RunStore",
    "RunSummary",
    "SecretKey",
    "SqlAutonomyStore",
    "SqlInboxStore",
    "SqlLedger",
    "SqlStore",
    "TelemetryEventRow",
    "TelemetryRepository",
    "TriggerOutcomeRecorder",
    "TriggerOutcomeRow",
    "TriggerRepository",
    "Workflow",
    "WorkflowRepository",
    "WorkflowRow",
    "WorkflowState",
    "WorkspaceBudgetRow",
    "WorkspacePreferencesRow",
    "WorkspaceRepository",
    "WorkspaceRow",
    "WriteBehind",
    "check_workspace_name",
    "current_revision",
    "default_database_url",
    "engine_of",
    "first_line",
    "head_revision",
    "redact",
    "resolve_database_url",
    "transaction",
    "upgrade",
]
