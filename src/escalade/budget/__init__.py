"""Budgets: the ledger (reserve before a call, settle after, exact caps) and the run's budget guard."""

from escalade.budget._guard import ApprovalCallback, ApprovalRequest, BudgetGuard, Reservation
from escalade.budget._ledger import (
    NANO,
    BudgetLedger,
    Hold,
    LineState,
    MemoryLedger,
    Settlement,
    WorkspaceBudget,
    check_reservation,
    from_nano,
    month_line,
    refusal,
    request_line,
    run_line,
    settlement_amount,
    to_nano,
)

__all__ = [
    "NANO",
    "ApprovalCallback",
    "ApprovalRequest",
    "BudgetGuard",
    "BudgetLedger",
    "Hold",
    "LineState",
    "MemoryLedger",
    "Reservation",
    "Settlement",
    "WorkspaceBudget",
    "check_reservation",
    "from_nano",
    "month_line",
    "refusal",
    "request_line",
    "run_line",
    "settlement_amount",
    "to_nano",
]
