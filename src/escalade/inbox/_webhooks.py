"""Webhooks: tell another system when inbox items are sent to a person or answered.

An :class:`InboxEvent` is made by the :class:`~escalade.inbox._inbox.Inbox` when a batch is sent
(``sent``) and when an item is answered, delegated or deferred. Each :class:`Webhook` gets it as a
JSON ``POST`` in one of two bodies (:func:`webhook_body`):

- ``json``: ``{"event": "inbox.sent", "at", "workspace", "batch": {"id", "reason", "summary"} | null,
  "items": [<item>, ...]}``, each item as :meth:`InboxItem.to_dict
  <escalade.inbox._items.InboxItem.to_dict>` without its classification;
- ``slack``: a Slack incoming-webhook body (``text`` and ``blocks``), text escaped for Slack's
  markup and cut to Slack's limits.

Each request carries ``X-Escalade-Delivery`` (the event's id, the same on every try, also the
body's ``id``); with a ``secret`` also ``X-Escalade-Timestamp`` and ``X-Escalade-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``: the receiver checks it with a constant-time
comparison, refuses timestamps more than a few minutes old, and drops deliveries it has seen.
:class:`WebhookSender` posts from one background thread, so answering never waits for a webhook:
a failed delivery (a connection error, a timeout, a 429 or a 5xx) is tried again up to ``tries``
times with a growing pause; a 4xx other than 429 is not. At most ``max_queued`` events wait;
past that, new ones are dropped and counted (``dropped``), and a warning is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from escalade.exceptions import ConfigError
from escalade.inbox._batching import DecisionBatch
from escalade.inbox._items import InboxItem

if TYPE_CHECKING:
    import httpx

__all__ = ["EventKind", "InboxEvent", "Webhook", "WebhookKind", "WebhookSender", "sign", "webhook_body"]

logger = logging.getLogger(__name__)

WebhookKind = Literal["json", "slack"]
EventKind = Literal["sent", "answered", "delegated", "deferred"]
#: Slack's limits: characters of a section's text, of a header, and blocks per message.
_SLACK_TEXT, _SLACK_HEADER, _SLACK_BLOCKS = 3000, 150, 50
_STOP = object()


@dataclass(frozen=True, kw_only=True)
class InboxEvent:
    """Items sent to a person (with their batch) or one item answered, delegated or deferred."""

    kind: EventKind
    workspace: str
    items: tuple[InboxItem, ...]
    at: datetime
    batch: DecisionBatch | None = None
    #: The same on every try of its delivery (``X-Escalade-Delivery``), so a receiver can drop repeats.
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class Webhook:
    """Where to post events, in which body, signed with ``secret`` if given."""

    url: str
    kind: WebhookKind = "json"
    secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(self.url) > 2000:
            raise ConfigError(f"a webhook URL is http(s)://host/..., got {self.url[:80]!r}", field="webhook")
        if self.kind not in ("json", "slack"):
            raise ConfigError(f"a webhook is json or slack, got {self.kind!r}", field="webhook")


def _item(item: InboxItem) -> dict[str, Any]:
    return {k: v for k, v in item.to_dict().items() if k != "classification"}


def _slack_escape(text: str) -> str:
    """``text`` as literal Slack text: its control characters and markup (``&<>`` escaped; ``*_~```
    and links broken by a zero-width space) never format, link or start a line of their own."""
    flat = " ".join(text.split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for mark in ("*", "_", "~", "`", "://"):
        flat = flat.replace(mark, mark[0] + "\u200b" + mark[1:])
    return flat


def _headline(event: InboxEvent) -> str:
    if event.kind == "sent":
        n = len(event.items)
        return f"{n} decision{'s' if n != 1 else ''} waiting for you in {event.workspace}"
    item = event.items[0]
    action = (item.response or {}).get("action", event.kind)
    who = item.answered_by or (item.response or {}).get("by") or "someone"
    return f"{action.replace('_', ' ')} by {who}: {item.description}"


def _slack(event: InboxEvent) -> dict[str, Any]:
    headline = _headline(event)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": " ".join(headline.split())[:_SLACK_HEADER]}},
    ]
    if event.batch is not None:
        for group in event.batch.groups:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(group.summary)}})
    blocks = blocks[: _SLACK_BLOCKS // 2]
    shown = event.items[: _SLACK_BLOCKS - len(blocks) - 1]
    for item in shown:
        lines = [f"*{_slack_escape(item.description)}*", f"{item.priority.value} {item.type.value}"]
        lines += [f"• {_slack_escape(r)}" for r in item.reasons[:5]]
        text = "\n".join(lines)[:_SLACK_TEXT]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if len(shown) < len(event.items):
        more = f"and {len(event.items) - len(shown)} more"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return {
        "text": _slack_escape(headline)[:_SLACK_TEXT],
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def webhook_body(event: InboxEvent, kind: WebhookKind = "json") -> dict[str, Any]:
    """The body posted for ``event`` (see the module docstring)."""
    if kind == "slack":
        return _slack(event)
    batch = event.batch
    return {
        "id": event.id,
        "event": f"inbox.{event.kind}",
        "at": event.at.astimezone(UTC).isoformat(),
        "workspace": event.workspace,
        "batch": None
        if batch is None
        else {"id": batch.id, "reason": batch.reason, "summary": [g.summary for g in batch.groups]},
        "items": [_item(i) for i in event.items],
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Escalade-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _request(hook: Webhook, event: InboxEvent) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(webhook_body(event, hook.kind), separators=(",", ":")).encode()
    headers = {"content-type": "application/json", "user-agent": "escalade-webhook", "x-escalade-delivery": event.id}
    if hook.secret:
        stamp = str(int(time.time()))
        headers |= {"x-escalade-timestamp": stamp, "x-escalade-signature": sign(hook.secret, stamp, body)}
    return body, headers


def _http_client(timeout_s: float) -> httpx.Client:
    import httpx  # noqa: PLC0415  (only when a webhook is posted: httpx's import brings its CLI's)

    return httpx.Client(timeout=timeout_s, follow_redirects=False)


class WebhookSender:
    """Posts each event to every webhook from a background thread (see the module docstring)."""

    def __init__(
        self,
        hooks: tuple[Webhook, ...] | list[Webhook],
        *,
        timeout_s: float = 5.0,
        tries: int = 3,
        pause_s: float = 0.5,
        max_queued: int = 1000,
        client: Callable[[], httpx.Client] | None = None,
    ) -> None:
        self.hooks = tuple(hooks)
        self.tries = max(1, tries)
        self.pause_s = pause_s
        self.dropped = 0
        self.failed = 0
        self.delivered = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queued)
        self._client = client or (lambda: _http_client(timeout_s))
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __call__(self, event: InboxEvent) -> None:
        """Queue ``event`` for every webhook (dropped, and counted, when the queue is full)."""
        if not self.hooks:
            return
        self._start()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            logger.warning("webhook queue full: inbox.%s event dropped (%d so far)", event.kind, self.dropped)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="escalade-webhooks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        with self._client() as client:
            while (event := self._queue.get()) is not _STOP:
                for hook in self.hooks:
                    try:
                        self._deliver(client, hook, event)  # type: ignore[arg-type]  # only events are queued
                    except Exception:  # a bug here must not stop the deliveries after it
                        self.failed += 1
                        logger.warning("webhook delivery failed unexpectedly", exc_info=True)
                self._queue.task_done()
            self._queue.task_done()

    def _deliver(self, client: httpx.Client, hook: Webhook, event: InboxEvent) -> None:
        body, headers = _request(hook, event)
        host = urlsplit(hook.url).hostname
        for attempt in range(1, self.tries + 1):
            try:
                status = client.post(hook.url, content=body, headers=headers).status_code
            except Exception as exc:  # httpx's errors (connect, timeout, protocol), whatever the client
                why = type(exc).__name__
            else:
                why = f"HTTP {status}"
                if status < 300:
                    self.delivered += 1
                    return
                if status < 500 and status != 429:
                    break
            if attempt < self.tries:
                time.sleep(self.pause_s * 2 ** (attempt - 1))
        self.failed += 1
        logger.warning("webhook to %s: inbox.%s not delivered (%s)", host, event.kind, why)

    def close(self, timeout_s: float = 10.0) -> None:
        """Deliver what is queued (waiting at most about ``timeout_s``), then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout_s)
        except queue.Full:
            logger.warning("webhook queue still full at shutdown: %d events not delivered", self._queue.qsize())
            return
        thread.join(timeout_s)
