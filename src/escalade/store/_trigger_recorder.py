"""The run listener that records trigger outcomes as items finish, so trigger validation learns from real use.

Attach a :class:`TriggerOutcomeRecorder` to any run (the batch executor, ``escalade run``, the
one-call API) next to the store. For each finished item it derives the outcomes the item is
evidence for (:func:`escalade.routing.trigger_outcomes`, whose docstring holds the rule) and keeps
each once per trigger and task, so a run stored again or resumed never counts twice.

What routing did for an item comes from :meth:`TriggerOutcomeRecorder.track` (call it with the
item's :class:`~escalade.routing.TriggerFiring` when you route it). An item nobody tracked is read
as *unrouted*: with a ``detector``, the triggers are detected on its prompt afterwards and the item
is taken to have started where it did whatever they said (no trigger acted); without one it gives
nothing.

>>> from escalade.routing import InMemoryTriggerHistory, TriggerDetector
>>> recorder = TriggerOutcomeRecorder(InMemoryTriggerHistory(), detector=TriggerDetector())
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from escalade.cascade import ItemResult, ProgressiveWorkflowResult, RunListener
from escalade.exceptions import ConfigError
from escalade.routing import (
    KeyedTriggerHistory,
    KnownOutcome,
    Task,
    TriggerDetector,
    TriggerFiring,
    trigger_outcomes,
)

if TYPE_CHECKING:
    from escalade.ladder import EscalationConfig

__all__ = ["TriggerOutcomeRecorder"]

logger = logging.getLogger(__name__)


class TriggerOutcomeRecorder(RunListener):
    """Records the trigger outcomes of finished items in ``history`` (see the module docstring)."""

    def __init__(
        self,
        history: KeyedTriggerHistory,
        *,
        detector: TriggerDetector | None = None,
        min_confidence: float = 0.7,
        known: KnownOutcome | None = None,
        tiers: Sequence[str] = (),
        workspace: str | None = None,
    ) -> None:
        if not 0 <= min_confidence <= 1:
            raise ConfigError("min_confidence must be in [0, 1]", field="min_confidence")
        #: Where outcomes go (``SqlStore``, ``InMemoryTriggerHistory``).
        self.history = history
        #: Detects triggers on the prompts of items nobody tracked (``None``: such items give nothing).
        self.detector = detector
        #: Detected triggers below this confidence do not count as fired (the router's bar, seed 001: 0.7).
        self.min_confidence = min_confidence
        #: Known outcomes of tiers (grades, reviewers), preferred to the run's own verdict.
        self.known = known
        #: The ladder's tier names for items of runs whose start this recorder did not see.
        self.tiers = tuple(tiers)
        #: The workspace the outcomes are recorded for (``None``: none).
        self.workspace = workspace
        #: Outcomes kept so far, and those skipped as already recorded.
        self.recorded = 0
        self.duplicates = 0
        self._firings: dict[str, TriggerFiring] = {}
        self._tiers: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def track(self, item_id: str, firing: TriggerFiring) -> None:
        """What routing did for item ``item_id`` of the next run it is in (forgotten when it finishes)."""
        with self._lock:
            self._firings[item_id] = firing

    def on_run_started(self, run_id: str, workflow: str, config: EscalationConfig, items: int) -> None:
        self._tiers[run_id] = config.tiers.names

    def on_item_finished(self, run_id: str, item: ItemResult) -> None:
        with self._lock:
            firing = self._firings.pop(item.item_id, None)
        tiers = self._tiers.get(run_id, self.tiers)
        if not tiers:
            return
        firing = firing or self._unrouted(item)
        if firing is None:
            return
        for outcome in trigger_outcomes(item, firing, tiers=tiers, known=self.known):
            if self.history.record_trigger_outcome_once(replace(outcome, workspace=self.workspace)):
                self.recorded += 1
            else:
                self.duplicates += 1
        logger.debug("item %r: trigger outcomes recorded (%d so far)", item.item_id, self.recorded)

    def on_run_finished(self, result: ProgressiveWorkflowResult) -> None:
        self._tiers.pop(result.run_id, None)

    def _unrouted(self, item: ItemResult) -> TriggerFiring | None:
        """An item nobody tracked: its triggers detected on its prompt, its start taken as its base."""
        if self.detector is None or item.prompt is None or not item.tiers:
            return None
        task = Task(item.prompt)
        fired = [t for t in self.detector.detect(task) if t.confidence >= self.min_confidence]
        return TriggerFiring.unrouted(task, item.tiers[0].tier, fired)
