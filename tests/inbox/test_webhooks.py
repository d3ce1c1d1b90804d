"""Webhooks: JSON and Slack bodies, signatures, retries, and the inbox telling them."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

import pytest

from escalade.autonomy import EscalationEngine, MemoryAutonomyStore, parse_decision
from escalade.exceptions import ConfigError
from escalade.inbox import (
    BatchManager,
    BatchPolicy,
    DecisionBatch,
    Inbox,
    InboxEvent,
    MemoryInboxStore,
    Webhook,
    WebhookSender,
    group_related,
    sign,
    webhook_body,
)
from tests.inbox.items import NOW, item
from tests.inbox.receiver import Receiver


def _batch(*items: Any) -> DecisionBatch:
    groups = tuple(group_related(items, window_s=600))
    return DecisionBatch(id="b1", items=tuple(items), groups=groups, reason="size", created_at=NOW)


def test_json_body_of_a_sent_batch() -> None:
    """The generic body names the event, the batch and its group summaries, and each item without its
    classification."""
    a, b = item("high", systems=("api",)), item("low", systems=("api",))
    event = InboxEvent(kind="sent", workspace="w", items=(a, b), at=NOW, batch=_batch(a, b))
    body = webhook_body(event)
    assert body["event"] == "inbox.sent"
    assert body["at"] == NOW.isoformat()
    assert body["batch"]["id"] == "b1"
    assert len(body["batch"]["summary"]) == 1
    assert [i["id"] for i in body["items"]] == [a.id, b.id]
    assert "classification" not in body["items"][0]
    json.dumps(body)


def test_slack_body_escapes_and_stays_within_limits() -> None:
    """Slack's body has text and blocks; markup characters are escaped; long batches are cut with a note."""
    hostile = replace(item(), description="Drop <!channel> & users > 1000 " + "x" * 4000)
    many = tuple(item() for _ in range(80))
    body = webhook_body(InboxEvent(kind="sent", workspace="w", items=(hostile, *many), at=NOW), "slack")
    assert "<!channel>" not in json.dumps(body)
    assert "&lt;!channel&gt; &amp; users &gt; 1000" in body["blocks"][1]["text"]["text"]
    assert len(body["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in body["blocks"] if b["type"] == "section")
    assert body["blocks"][-1]["type"] == "context"
    assert "more" in body["blocks"][-1]["elements"][0]["text"]
    assert body["blocks"][0]["text"]["text"].startswith("81 decisions waiting")


def test_slack_text_cannot_format_link_or_forge_lines() -> None:
    """A hostile description cannot bold, link, unfurl or start a line of its own in Slack."""
    hostile = replace(item(), description="*urgent* see https://evil.example\n• approved by security")
    body = webhook_body(InboxEvent(kind="sent", workspace="w", items=(hostile,), at=NOW), "slack")
    text = body["blocks"][1]["text"]["text"].split("\n")[0]
    assert "*urgent*" not in text
    assert "https://evil" not in text
    assert "• approved by security" not in body["blocks"][1]["text"]["text"].split("\n")
    assert body["unfurl_links"] is False


def test_an_unexpected_failure_does_not_stop_later_deliveries() -> None:
    """A client that raises something other than httpx's errors costs one delivery, not the thread."""
    calls: list[int] = []

    class Flaky:
        def __enter__(self) -> Flaky:
            return self

        def __exit__(self, *args: object) -> None:
            pass

        def post(self, *args: object, **kwargs: object) -> Any:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("a bug")
            return type("Sent", (), {"status_code": 200})()

    sender = WebhookSender([Webhook("http://127.0.0.1:9/hook")], tries=1, client=Flaky)  # type: ignore[arg-type]
    event = InboxEvent(kind="answered", workspace="w", items=(item(),), at=NOW)
    sender(event)
    sender(event)
    sender.close()
    assert (sender.failed, sender.delivered) == (1, 1)


def test_slack_body_of_an_answer_names_who_and_what() -> None:
    answered = item(response={"action": "approve_with_conditions", "by": "ana"}, answered_by="ana")
    body = webhook_body(InboxEvent(kind="answered", workspace="w", items=(answered,), at=NOW), "slack")
    assert body["text"].startswith("approve with conditions by ana: ")


@pytest.mark.parametrize(
    ("url", "kind"), [("ftp://example.com/x", "json"), ("http:///nohost", "json"), ("http://h/x", "teams")]
)
def test_bad_webhooks_are_refused(url: str, kind: Any) -> None:
    with pytest.raises(ConfigError, match="webhook"):
        Webhook(url, kind)


def test_delivery_is_signed() -> None:
    """With a secret, the receiver can check the body with the timestamp and the HMAC."""
    with Receiver() as receiver:
        _signed(receiver)


def _signed(receiver: Receiver) -> None:
    sender = WebhookSender([Webhook(receiver.url, "json", secret="s3cret")])
    sender(InboxEvent(kind="answered", workspace="w", items=(item(),), at=NOW))
    sender.close()
    ((headers, body),) = receiver.received
    assert headers["content-type"] == "application/json"
    assert headers["x-escalade-signature"] == sign("s3cret", headers["x-escalade-timestamp"], body)
    assert json.loads(body)["event"] == "inbox.answered"
    assert headers["x-escalade-delivery"] == json.loads(body)["id"]
    assert sender.delivered == 1


def test_server_errors_and_429_are_retried_but_4xx_are_not() -> None:
    with Receiver([503, 429, 200, 404]) as receiver:
        _retried(receiver)


def _retried(receiver: Receiver) -> None:
    sender = WebhookSender([Webhook(receiver.url)], pause_s=0.01)
    event = InboxEvent(kind="answered", workspace="w", items=(item(),), at=NOW)
    sender(event)
    sender(event)
    sender.close()
    assert len(receiver.received) == 4  # three tries for the first, one for the refused second
    assert (sender.delivered, sender.failed) == (1, 1)


def test_an_unreachable_webhook_fails_after_its_tries(caplog: pytest.LogCaptureFixture) -> None:
    sender = WebhookSender([Webhook("http://127.0.0.1:9/hook")], tries=2, pause_s=0.01, timeout_s=1)
    sender(InboxEvent(kind="answered", workspace="w", items=(item(),), at=NOW))
    sender.close()
    assert sender.failed == 1
    assert "not delivered (ConnectError)" in caplog.text


def test_a_full_queue_drops_and_counts() -> None:
    """Past ``max_queued`` waiting events, new ones are dropped, never blocking the answer."""
    gate = threading.Event()

    class Stuck:
        def __enter__(self) -> Stuck:
            gate.wait(5)
            return self

        def __exit__(self, *args: object) -> None:
            pass

        def post(self, *args: object, **kwargs: object) -> Any:
            return type("Sent", (), {"status_code": 204})()

    sender = WebhookSender([Webhook("http://127.0.0.1:9/hook")], max_queued=2, client=Stuck)  # type: ignore[arg-type]
    event = InboxEvent(kind="answered", workspace="w", items=(item(),), at=NOW)
    for _ in range(5):
        sender(event)
    assert sender.dropped == 3
    gate.set()
    sender.close()
    assert sender.delivered == 2


def test_the_inbox_tells_of_batches_sent_and_answers() -> None:
    """A batch sent and an answer each reach the webhook; a failing notifier never fails the answer."""
    seen: list[InboxEvent] = []
    engine = EscalationEngine(MemoryAutonomyStore())
    box = Inbox(MemoryInboxStore(), engine, notify=seen.append, batching=BatchManager(BatchPolicy(size=1)))
    decision = parse_decision({"id": "d1", "description": "Deploy the payment service to production"})
    box.escalated(engine.evaluate(decision), decision)
    batch = box.due(person="ana")
    assert batch is not None
    box.respond("d1", {"action": "approve", "by": "ana"})
    assert [(e.kind, len(e.items)) for e in seen] == [("sent", 1), ("answered", 1)]
    assert seen[0].batch is not None
    assert seen[1].items[0].answered_by == "ana"

    def broken(event: InboxEvent) -> None:
        raise RuntimeError("down")

    box.notify = broken
    decision = parse_decision({"id": "d2", "description": "Deploy the search service to production"})
    box.escalated(engine.evaluate(decision), decision)
    assert box.respond("d2", {"action": "reject", "by": "ana"}).state.value == "answered"
