"""The run's events, and the listener interface that receives them (the store, telemetry, progress).

The executor calls a :class:`RunListener` as a run happens; the store and telemetry implement it, so
they depend on this interface, never on the executor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from escalade.cascade._results import AttemptRecord, ItemResult, ProgressiveWorkflowResult
    from escalade.ladder import EscalationConfig

__all__ = ["RunListener"]


class RunListener:
    """Receives run events as they happen. Override the methods you need."""

    def on_run_started(self, run_id: str, workflow: str, config: EscalationConfig, items: int) -> None:
        """A run began."""

    def on_attempt(self, run_id: str, record: AttemptRecord) -> None:
        """An attempt finished (or its call failed)."""

    def on_escalation(self, run_id: str, item_id: str, from_tier: str, to_tier: str, reason: str) -> None:
        """An item climbed."""

    def on_item_finished(self, run_id: str, item: ItemResult) -> None:
        """An item reached its final state."""

    def on_run_finished(self, result: ProgressiveWorkflowResult) -> None:
        """The run ended (completed, or stopped by the budget)."""
