"""Runs written behind their answers: a request's run events are kept in memory and stored after it, in batches.

The one-call pipeline stores each request as a run (its start, attempts, escalations, item, end) and
records the triggers' outcomes from it. Written as they happen, that is five or more transactions
on the request's own path, each waiting for the database's write lock. With a :class:`WriteBehind`,
a run's events are kept in memory while it runs; when it finishes, the whole run goes to one writer
thread, which stores the runs waiting for it together, in one transaction per batch.

What this changes, and what it does not:

- the events reach the same listeners (the store, the trigger recorder) in the same order, so a
  stored run is exactly what it would have been;
- the answer no longer waits for its trace, and a trace that cannot be stored no longer fails an
  answered request: each run of a batch is written under its own savepoint, so a run the database
  refuses is rolled back alone and then written as the store writes a run as it happens (a refused
  write marks that run ``failed``, as always); what still fails is logged with the run id and
  counted in :attr:`WriteBehind.failed`;
- budgets are not written behind: the ledger reserves and settles on the request's path, so a
  process that dies loses at most the traces of runs not yet written (``flush`` and ``close``
  write them), never a cent of spend;
- the queue is bounded (``max_queued`` runs, 1,000 by default, each holding its prompt and answer):
  when it is full, the run is written on the caller's thread. That is deliberate back-pressure: a
  server whose database cannot keep up slows down rather than grow without bound or drop traces;
- a run that never finishes (cancelled: the client went away, the server stops) is handed over as
  far as it went (the listener's ``abandon(run_id)``), as it would have been stored as it happened.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from escalade.cascade import ProgressiveWorkflowResult, RunListener
from escalade.exceptions import EscaladeError
from escalade.store._engine import Database

__all__ = ["DeferredRuns", "WriteBehind"]

logger = logging.getLogger(__name__)

#: One listener call: the listener, the event's name and its arguments.
_Call = tuple[RunListener, str, tuple[Any, ...]]


class _Run:
    """One run's events, in order, for the listeners they are meant for."""

    def __init__(self, run_id: str, calls: list[_Call]) -> None:
        self.run_id = run_id
        self.calls = calls

    def replay(self, *, tolerant: bool) -> int:
        """Deliver every event; ``tolerant``: an event that fails is logged and the rest still delivered
        (the store then marks the run failed, as when it writes a run as it happens). How many failed."""
        failures = 0
        for listener, event, args in self.calls:
            try:
                getattr(listener, event)(*args)
            except (EscaladeError, SQLAlchemyError, UnicodeError) as exc:
                if not tolerant:
                    raise
                failures += 1
                logger.warning("run %s: %s.%s was not stored: %s", self.run_id, type(listener).__name__, event, exc)
        return failures


class DeferredRuns(RunListener):
    """Keeps a run's events for ``listeners``, and hands the run to the writer when it finishes."""

    def __init__(self, listeners: Sequence[RunListener], submit: Callable[[_Run], None]) -> None:
        self._listeners = tuple(listeners)
        self._submit = submit
        self._runs: dict[str, list[_Call]] = {}
        self._lock = threading.Lock()

    def _keep(self, run_id: str, event: str, *args: Any) -> None:
        with self._lock:
            calls = self._runs.setdefault(run_id, [])
            calls.extend((listener, event, args) for listener in self._listeners)

    def on_run_started(self, run_id: str, workflow: str, config: Any, items: int) -> None:
        self._keep(run_id, "on_run_started", run_id, workflow, config, items)

    def on_attempt(self, run_id: str, record: Any) -> None:
        self._keep(run_id, "on_attempt", run_id, record)

    def on_escalation(self, run_id: str, item_id: str, from_tier: str, to_tier: str, reason: str) -> None:
        self._keep(run_id, "on_escalation", run_id, item_id, from_tier, to_tier, reason)

    def on_item_finished(self, run_id: str, item: Any) -> None:
        self._keep(run_id, "on_item_finished", run_id, item)

    def on_run_finished(self, result: ProgressiveWorkflowResult) -> None:
        self._keep(result.run_id, "on_run_finished", result)
        with self._lock:
            calls = self._runs.pop(result.run_id)
        self._submit(_Run(result.run_id, calls))

    def abandon(self, run_id: str) -> None:
        """Hand over run ``run_id`` as far as it went, if it started and never finished (else nothing)."""
        with self._lock:
            calls = self._runs.pop(run_id, None)
        if calls:
            self._submit(_Run(run_id, calls))


class WriteBehind:
    """One writer thread storing finished runs in batches (see the module docstring).

    ``max_batch`` runs at most go in one transaction; ``max_queued`` runs at most wait for the writer.
    """

    def __init__(self, db: Database, *, max_batch: int = 64, max_queued: int = 1000) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: queue.Queue[_Run | None] = queue.Queue(maxsize=max_queued)
        self._idle = threading.Condition()
        self._pending = 0
        self._closed = False
        #: Runs stored so far, runs whose events could not all be stored, and batches written.
        self.written = 0
        self.failed = 0
        self.batches = 0
        self._thread = threading.Thread(target=self._work, name="escalade-write-behind", daemon=True)
        self._thread.start()

    def listener(self, listeners: Sequence[RunListener]) -> DeferredRuns:
        """A listener that gives ``listeners`` every event of each run, once the run has finished (or,
        through its ``abandon()``, once it is known never to finish)."""
        return DeferredRuns(listeners, self._submit)

    def _submit(self, run: _Run) -> None:
        with self._idle:
            self._pending += 1
            closed = self._closed
        if closed:
            self._write([run])
            return
        try:
            self._queue.put_nowait(run)
        except queue.Full:  # the writer is behind: this run is written here, so nothing waits unbounded
            self._write([run])

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every run handed over so far is written; whether that happened within ``timeout_s``."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout_s)

    def close(self, timeout_s: float = 30.0) -> None:
        """Write what is waiting, then stop the writer (a later run is written on its caller's thread)."""
        with self._idle:
            self._closed = True
        if not self._thread.is_alive():
            return
        self._queue.put(None)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.error(
                "the write-behind writer did not finish in %.0f s; %d runs unwritten", timeout_s, self._pending
            )
            return
        while True:  # a run handed over while the writer was stopping
            try:
                late = self._queue.get_nowait()
            except queue.Empty:
                return
            if late is not None:
                self._write([late])

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            batch = [first] if first is not None else []
            while first is not None and len(batch) < self.max_batch:
                try:
                    found = self._queue.get_nowait()
                except queue.Empty:
                    break
                if found is None:
                    first = None
                    break
                batch.append(found)
            if batch:
                self._write(batch)
            if first is None:
                return

    def _write(self, batch: list[_Run]) -> None:
        refused: list[_Run] = []
        try:
            with self.db.batch() as conn:
                for run in batch:
                    try:
                        with conn.begin_nested():  # a savepoint: a refused run is rolled back alone
                            run.replay(tolerant=False)
                    except (EscaladeError, SQLAlchemyError, UnicodeError) as exc:
                        logger.warning("run %s was refused in its batch (%s); writing it on its own", run.run_id, exc)
                        refused.append(run)
            self.batches += 1
            self.written += len(batch) - len(refused)
            for run in refused:
                self._one(run)
        except (EscaladeError, SQLAlchemyError, UnicodeError) as exc:  # the batch's own transaction failed
            logger.warning("a batch of %d runs was refused (%s); writing them one by one", len(batch), exc)
            for run in batch:
                self._one(run)
        except Exception:  # a bug must not kill the writer, which every later run waits for
            logger.exception("the write-behind batch of %d runs failed", len(batch))
            self.failed += len(batch)
        finally:
            with self._idle:
                self._pending -= len(batch)
                self._idle.notify_all()

    def _one(self, run: _Run) -> None:
        try:
            failures = run.replay(tolerant=True)
        except Exception:
            logger.exception("run %s could not be stored", run.run_id)
            failures = 1
        if failures:
            self.failed += 1
        else:
            self.written += 1
