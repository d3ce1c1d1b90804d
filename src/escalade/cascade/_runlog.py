"""The executor's records of attempts, items and runs, as log lines (names and numbers, never content).

An answer appears only with the content opt-in (``ESCALADE_LOG_CONTENT=1``, see :mod:`escalade._logs`).
The executor passes its own logger, so the records carry its name.
"""

from __future__ import annotations

import logging

from escalade._logs import debug_content
from escalade.cascade._results import AttemptRecord, ItemResult, ProgressiveWorkflowResult

__all__ = ["log_attempt", "log_item", "log_run"]


def log_attempt(logger: logging.Logger, record: AttemptRecord) -> None:
    """One attempt at debug: where, its verdict or error, its score and cost, and why."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    verdict = f"error ({record.error_cause})" if record.error is not None else "passed" if record.passed else "failed"
    logger.debug(
        "item %r attempt %d on %s/%s: %s, CQS %s, $%.6f in %d call(s): %s",
        record.item_id,
        record.attempt,
        record.tier,
        record.model,
        verdict,
        "-" if record.cqs is None else f"{record.cqs:.1f}",
        record.cost_usd,
        record.calls,
        record.reason or "accepted",
    )
    debug_content(logger, "item %r attempt %d answer: %r", record.item_id, record.attempt, record.text)


def log_item(logger: logging.Logger, item: ItemResult) -> None:
    """A finished item at debug: its status, where it ended, its cost and error."""
    if logger.isEnabledFor(logging.DEBUG):
        where = f" on {item.final_tier}/{item.final_model}" if item.final_tier else ""
        error = f": {item.error}" if item.error else ""
        logger.debug("item %r finished %s%s, $%.6f%s", item.item_id, item.status, where, item.cost_usd, error)


def log_run(logger: logging.Logger, result: ProgressiveWorkflowResult) -> None:
    """A finished run at info: its status, items by status, cost and escalation rate."""
    if not logger.isEnabledFor(logging.INFO):
        return
    statuses: dict[str, int] = {}
    for item in result.items:
        statuses[item.status] = statuses.get(item.status, 0) + 1
    logger.info(
        "run %s finished %s: %s; cost $%.6f, escalation rate %.0f%%%s",
        result.run_id,
        result.status,
        ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
        result.total_cost,
        100 * result.escalation_rate,
        f", {len(result.warnings)} warning(s)" if result.warnings else "",
    )
