"""The inbox's metrics: response times, batch efficiency, interruptions per person, overrides."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from escalade.inbox import InboxItem, InboxState, inbox_stats
from tests.inbox.items import NOW, item


def _answered(
    action: str, by: str, *, after_s: float, batch: str | None = None, recommended: str = "approve"
) -> InboxItem:
    made = item(age_s=3600)
    return replace(
        made,
        state=InboxState.ANSWERED,
        recommendation=recommended,
        batch_id=batch,
        answered_by=by,
        answered_at=made.created_at + timedelta(seconds=after_s),
        response={"action": action, "by": by},
    )


def test_empty_inbox_has_no_rates() -> None:
    stats = inbox_stats([], now=NOW)
    assert (stats.items, stats.mean_response_s, stats.batch_efficiency, stats.override_rate) == (0, None, None, None)


def test_metrics_of_a_few_answers() -> None:
    """Two items answered from one batch and one on its own: 3 questions in 2 interruptions for ana;
    a reject of an approve recommendation and an approve of a reject one are overrides."""
    items = [
        _answered("approve", "ana", after_s=60, batch="b1"),
        _answered("reject", "ana", after_s=120, batch="b1"),
        _answered("approve", "ana", after_s=300),
        _answered("approve", "bo", after_s=30, recommended="reject"),
        item(age_s=600),
        replace(item(age_s=100), state=InboxState.DEFERRED),
        replace(item(age_s=100), state=InboxState.EXPIRED),
        replace(item(age_s=100), expires_at=NOW - timedelta(seconds=1)),  # overdue: counts as expired
    ]
    stats = inbox_stats(items, now=NOW)
    assert (stats.items, stats.answered, stats.open, stats.deferred, stats.expired) == (8, 4, 2, 1, 2)
    assert stats.mean_response_s == (60 + 120 + 300 + 30) / 4
    assert stats.median_response_s == 90
    assert stats.batch_efficiency == round(4 / 3, 2)
    assert stats.override_rate == 0.5
    assert stats.oldest_open_s == 600
    assert stats.by_action == {"approve": 3, "reject": 1}
    ana = stats.by_person["ana"]
    assert (ana.answered, ana.interruptions, ana.questions_per_interruption, ana.overrides) == (3, 2, 1.5, 1)
    assert ana.interruptions_per_day == 2.0  # answers within a day: counted over one day
    assert stats.by_person["bo"].overrides == 1
    assert set(stats.to_dict()["by_person"]) == {"ana", "bo"}
