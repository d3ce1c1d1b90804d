"""Batching: critical at once (quiet hours too), high at once when available, the rest by size or age,
sorted and grouped, and how many questions each interruption carries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalade.exceptions import InboxError
from escalade.inbox import Availability, BatchManager, BatchPolicy, InboxState, batch_efficiency, group_related
from tests.inbox.items import NOW, item

OFFICE = Availability(timezone="Europe/Paris", working_hours=(9, 18), quiet_hours=(22, 7))


def test_low_items_wait_for_the_batch_size() -> None:
    manager = BatchManager(BatchPolicy(size=5, max_wait_s=300))
    four = [item(age_s=10) for _ in range(4)]
    assert manager.due(four, NOW) is None
    batch = manager.due([*four, item()], NOW)
    assert batch is not None
    assert (batch.reason, len(batch.items)) == ("size", 5)


def test_the_oldest_waiting_past_the_maximum_sends_them_all() -> None:
    manager = BatchManager(BatchPolicy(size=5, max_wait_s=300))
    assert manager.due([item(age_s=299), item()], NOW) is None
    batch = manager.due([item(age_s=300), item()], NOW)
    assert batch is not None
    assert (batch.reason, len(batch.items)) == ("max_wait", 2)


def test_critical_goes_at_once_with_everything_waiting_sorted_by_priority_then_age() -> None:
    low_old, medium, critical = item(age_s=50), item("medium", age_s=5), item("critical")
    batch = BatchManager().due([low_old, medium, critical], NOW)
    assert batch is not None
    assert batch.reason == "critical"
    assert [i.id for i in batch.items] == [critical.id, medium.id, low_old.id]


def test_high_goes_at_once_only_when_the_person_is_available() -> None:
    high = item("high")
    assert BatchManager().due([high], NOW, OFFICE) is not None  # 11:00 in Paris on a Wednesday
    night = NOW.replace(hour=23)  # midnight in Paris: quiet hours
    assert BatchManager().due([item("high")], night, OFFICE) is None
    saturday = NOW + timedelta(days=3)
    assert BatchManager().due([item("high")], saturday, OFFICE) is None


def test_critical_overrides_quiet_hours_and_goes_alone() -> None:
    night = NOW.replace(hour=23)
    critical, low = item("critical"), item(age_s=10_000)
    batch = BatchManager().due([critical, low], night, OFFICE)
    assert batch is not None
    assert [i.id for i in batch.items] == [critical.id]  # the rest waits for the morning


def test_deferred_expired_and_sent_items_are_not_sent() -> None:
    deferred = item("critical", state=InboxState.DEFERRED, not_before=NOW + timedelta(hours=1))
    expired = item("critical", expires_at=NOW - timedelta(seconds=1))
    sent = item("critical", state=InboxState.SENT)
    assert BatchManager().due([deferred, expired, sent], NOW) is None
    due_again = item("critical", state=InboxState.DEFERRED, not_before=NOW)
    delegated = item("critical", state=InboxState.DELEGATED)
    batch = BatchManager().due([due_again, delegated], NOW)
    assert batch is not None
    assert len(batch.items) == 2


def test_related_items_are_grouped_with_a_summary() -> None:
    payments = [item("high", systems=("payments",), type="deployment") for _ in range(2)]
    same_file = [item(files=("app/db.py",), type="data"), item(files=("app/db.py",), type="maintenance")]
    same_run = [item(workflow="run-7", type="security"), item(workflow="run-7", type="resource")]
    alone = item(type="integration")
    groups = group_related([*payments, *same_file, *same_run, alone], window_s=60)
    assert [(g.relation, len(g.items)) for g in groups] == [
        ("system", 2),
        ("file", 2),
        ("workflow", 2),
        ("single", 1),
    ]
    assert groups[0].summary == "2 deployment decisions on payments (2 high or critical)"
    assert groups[2].summary == "2 related decisions in workflow run-7"
    assert groups[3].summary == "1 integration decision"


def test_the_same_type_groups_only_within_the_window() -> None:
    close = group_related([item(type="data"), item(type="data", age_s=30)], window_s=60)
    apart = group_related([item(type="data"), item(type="data", age_s=3600)], window_s=60)
    assert [len(g.items) for g in close] == [2]
    assert [len(g.items) for g in apart] == [1, 1]


def test_batch_efficiency_is_questions_per_interruption() -> None:
    manager = BatchManager(BatchPolicy(size=3))
    batches = [manager.due([item(), item(), item()], NOW), manager.due([item("critical")], NOW)]
    assert batch_efficiency(b for b in batches if b is not None) == 2.0
    assert batch_efficiency([]) is None


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: BatchPolicy(size=0), "size"),
        (lambda: BatchPolicy(max_wait_s=-1), "max_wait_s"),
        (lambda: Availability(timezone="Mars/Olympus"), "timezone"),
        (lambda: Availability(working_hours=(9, 9)), "working_hours"),
        (lambda: Availability(quiet_hours=(25, 3)), "quiet_hours"),
        (lambda: Availability(workdays=(7,)), "workdays"),
    ],
)
def test_bad_settings_name_their_field(make: object, field: str) -> None:
    with pytest.raises(InboxError) as caught:
        make()  # type: ignore[operator]  # each case is a callable
    assert caught.value.field == field


def test_quiet_hours_cross_midnight_in_the_persons_time_zone() -> None:
    tokyo = Availability(timezone="Asia/Tokyo", working_hours=None, quiet_hours=(22, 7))
    assert tokyo.quiet(NOW.replace(hour=14))  # 23:00 in Tokyo
    assert tokyo.quiet(NOW.replace(hour=21))  # 06:00 in Tokyo
    assert not tokyo.quiet(NOW.replace(hour=22))  # 07:00 in Tokyo
    assert tokyo.available(NOW.replace(hour=3))  # 12:00 in Tokyo
