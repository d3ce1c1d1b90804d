"""The result store: SQLAlchemy models, Alembic migrations, and the SQL store."""

from escalade.store._autonomy import SqlAutonomyStore
from escalade.store._base import CleanupReport, LoggedItem, LoggedTier, RunStore, RunSummary
from escalade.store._keys import MASTER_KEY_ENV, PROVIDER_ENV_VARS, KeyVault, SecretKey, redact
from escalade.store._ledger import SqlLedger
from escalade.store._migrate import current_revision, head_revision, upgrade
from escalade.store._models import (
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
    WorkspaceBudgetRow,
)
from escalade.store._sql import SqlStore
from escalade.store._transactions import transaction
from escalade.store._urls import default_database_url, first_line, resolve_database_url

__all__ = [
    "MASTER_KEY_ENV",
    "PROVIDER_ENV_VARS",
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
    "CleanupReport",
    "EscalationRow",
    "ItemRow",
    "KeyVault",
    "LoggedItem",
    "LoggedTier",
    "ProviderKeyRow",
    "RunRow",
    "RunStore",
    "RunSummary",
    "SecretKey",
    "SqlAutonomyStore",
    "SqlLedger",
    "SqlStore",
    "TelemetryEventRow",
    "TriggerOutcomeRow",
    "WorkspaceBudgetRow",
    "current_revision",
    "default_database_url",
    "first_line",
    "head_revision",
    "redact",
    "resolve_database_url",
    "transaction",
    "upgrade",
]
