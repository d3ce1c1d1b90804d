"""The inbox's background part in ``escalade serve``: webhooks, and the batches due sent to them.

With webhooks configured (``--webhook``), every process starts one
:class:`~escalade.inbox.WebhookSender` (answers given over HTTP or on the web inbox are told to it),
and every ``inbox_dispatch_s`` seconds looks in each workspace for the batches due
(:meth:`Inbox.due_everywhere <escalade.inbox.Inbox.due_everywhere>`): one per assignee, and one for
the items assigned to nobody, the workspace's open items read once. Webhooks are the server's, not a
workspace's: every workspace's items go to every webhook, so configure them only where one team runs
the server. A batch is marked ``sent`` by a compare-and-set, so with several replicas each item is
sent, and told, once. People's availability is not known to the server: batches go out whenever they
are due.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

import anyio

from escalade.inbox import WebhookSender
from escalade.service._inbox import inbox_of
from escalade.service._state import ServiceState

__all__ = ["dispatch_once", "start_inbox"]

logger = logging.getLogger(__name__)


def dispatch_once(state: ServiceState) -> int:
    """Send every batch due now in every workspace; how many batches were sent. A workspace whose
    dispatch fails is logged and skipped; the others go on."""
    inbox = inbox_of(state)
    sent = 0
    for workspace in ("default", *state.store.api_keys.workspace_names()):
        try:
            sent += len(inbox.due_everywhere(workspace))
        except Exception as exc:  # the database gone for a moment, or one bad row: the next pass
            logger.warning("inbox dispatch of workspace %r failed (%s)", workspace, type(exc).__name__)
    return sent


async def start_inbox(state: ServiceState) -> Callable[[], Awaitable[None]] | None:
    """Start the webhook sender and the dispatch loop (nothing without webhooks); returns their stop."""
    hooks = state.settings.webhook_list()
    if not hooks:
        return None
    sender = state.parts["webhooks"] = WebhookSender(hooks)
    period = state.settings.inbox_dispatch_s

    async def loop() -> None:
        while True:
            try:
                await anyio.to_thread.run_sync(dispatch_once, state)
            except Exception as exc:  # the database gone for a moment: next time
                logger.warning("inbox dispatch failed (%s); trying again in %g s", type(exc).__name__, period)
            await asyncio.sleep(period)

    task = asyncio.create_task(loop(), name="escalade-inbox-dispatch") if period > 0 else None

    async def stop() -> None:
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await anyio.to_thread.run_sync(sender.close)

    return stop
