"""procrastinate on the store's PostgreSQL: the job queue of submitted workflows (see :mod:`escalade.service._jobs`).

The schema is applied at the first start, under a PostgreSQL advisory lock held for the
transaction, so that replicas starting together apply it once and the others find it there. Each
replica's worker sends heartbeats; the jobs of a worker that stopped sending them (its replica was
killed) are put back by :meth:`ProcrastinateQueue.recover`, part of every sweep.

A worker hears of new jobs on a LISTEN connection, and polls too (every third of a lease). When
that connection is lost (PostgreSQL restarted, failed over), :class:`ListeningConnector` opens it
again, as long as it takes: procrastinate's own connector tries once, and if PostgreSQL is still
away at that moment its listener ends for good and the worker only polls from then on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from contextlib import suppress

import anyio
from procrastinate import App, PsycopgConnector
from procrastinate.connector import Notify
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException
from procrastinate.jobs import Status
from procrastinate.schema import SchemaManager
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from escalade.service._jobs import guarded
from escalade.service._state import ServiceState
from escalade.service._workflows import WorkflowRunner

__all__ = ["ListeningConnector", "ProcrastinateQueue", "apply_schema", "conninfo"]

logger = logging.getLogger(__name__)

#: The procrastinate task and queue of workflows.
TASK_NAME = "escalade.run_workflow"
QUEUE = "escalade_workflows"
#: Workflows one process runs at once on procrastinate's worker.
CONCURRENCY = 8
#: Seconds without a heartbeat after which a worker's jobs are taken back (procrastinate's default).
#: The workflow itself is handed out again sooner, once its lease expires: this only tidies the job.
STALLED_AFTER_S = 30.0
#: Seconds between two attempts to listen again after the LISTEN connection was lost.
RELISTEN_S = 1.0
#: Key of the advisory lock under which procrastinate's schema is applied (any fixed 64-bit number).
_SCHEMA_LOCK = 0x65736361_6C616465


def conninfo(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq's (what psycopg's pool connects with)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def apply_schema(engine: Engine, schema: str) -> bool:
    """Apply procrastinate's ``schema`` unless its tables exist; whether it was applied (one replica at a time)."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return False
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # open inside begin()
        cursor.execute(schema)  # no parameters: run as it is, several statements at once
    logger.info("procrastinate's schema applied")
    return True


class ListeningConnector(PsycopgConnector):
    """procrastinate's psycopg connector, whose LISTEN connection is opened again after every failure, every
    :data:`RELISTEN_S`, until the worker stops (see the module docstring)."""

    async def listen_notify(self, on_notification: Notify, channels: Iterable[str]) -> None:
        names = list(channels)  # read again on every attempt
        while True:
            try:
                await super().listen_notify(on_notification=on_notification, channels=names)
            except ConnectorException as exc:
                cause = type(exc.__cause__).__name__ if exc.__cause__ else type(exc).__name__
                logger.warning(
                    "job queue: its LISTEN connection failed (%s); listening again in %g s", cause, RELISTEN_S
                )
            await asyncio.sleep(RELISTEN_S)


class ProcrastinateQueue:
    """Workflows as procrastinate jobs on the store's PostgreSQL, run by a worker in this process."""

    def __init__(self, state: ServiceState, runner: WorkflowRunner) -> None:
        self.state = state
        self.lease_s = state.settings.workflow_lease_s
        connector = ListeningConnector(conninfo=conninfo(state.store.url), min_size=1, max_size=4)
        self.app = App(connector=connector)

        async def run_workflow(workflow_id: str) -> None:
            await guarded(runner, workflow_id)

        self.task = self.app.task(name=TASK_NAME, queue=QUEUE)(run_workflow)
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Apply the schema if needed, open the pool, start the worker."""
        await anyio.to_thread.run_sync(apply_schema, self.state.store.engine, SchemaManager.get_schema())
        await self.app.open_async()
        heartbeat = max(0.5, min(10.0, self.lease_s / 3))
        worker = self.app.run_worker_async(
            queues=[QUEUE],
            name=self.state.replica[:100],
            concurrency=CONCURRENCY,
            install_signal_handlers=False,
            update_heartbeat_interval=heartbeat,
            stalled_worker_timeout=max(STALLED_AFTER_S, 3 * self.lease_s),
            shutdown_graceful_timeout=1.0,
            fetch_job_polling_interval=max(0.5, self.lease_s / 3),
        )
        self._worker = asyncio.create_task(worker, name="procrastinate worker")

    async def enqueue(self, workflow_id: str) -> None:
        with suppress(AlreadyEnqueued):  # a job of the workflow is already waiting
            await self.task.configure(queueing_lock=workflow_id).defer_async(workflow_id=workflow_id)

    async def recover(self) -> None:
        """Put back the jobs of workers that stopped sending heartbeats (their replica died)."""
        manager = self.app.job_manager
        silent_s = max(STALLED_AFTER_S, 3 * self.lease_s)
        stalled = await manager.get_stalled_jobs(task_name=TASK_NAME, seconds_since_heartbeat=silent_s)
        for job in stalled:
            try:
                await manager.retry_job(job)
            except Exception:  # a job of the workflow waits already (another sweep re-deferred it)
                with suppress(Exception):
                    await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            logger.info("procrastinate job %s of a stopped worker taken back", job.id)

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._worker
        await self.app.close_async()
