"""What a process read a moment ago: kept ``ttl_s`` seconds, bounded, never an error, nothing with ``ttl_s=0``."""

from __future__ import annotations

import pytest

from escalade.service._recent import Recent


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_kept_for_its_ttl_then_read_again() -> None:
    clock = _Clock()
    recent = Recent[str, int](ttl_s=1.0, clock=clock)
    loads = iter(range(10))
    assert recent.get("k", lambda: next(loads)) == 0
    clock.now += 0.9
    assert recent.get("k", lambda: next(loads)) == 0
    clock.now += 0.2
    assert recent.get("k", lambda: next(loads)) == 1


def test_an_error_of_the_read_is_not_kept() -> None:
    recent = Recent[str, int](ttl_s=60)

    def fail() -> int:
        raise LookupError("no row")

    with pytest.raises(LookupError):
        recent.get("k", fail)
    assert recent.get("k", lambda: 7) == 7


def test_a_ttl_of_zero_reads_every_time() -> None:
    recent = Recent[str, int](ttl_s=0)
    loads = iter(range(10))
    assert [recent.get("k", lambda: next(loads)) for _ in range(3)] == [0, 1, 2]


def test_it_never_holds_more_than_its_bound_and_forgets_on_demand() -> None:
    recent = Recent[int, int](ttl_s=60, max_entries=16)
    for n in range(100):
        recent.get(n, lambda n=n: n)  # type: ignore[misc]  # the default binds the loop's value
    assert len(recent._entries) <= 16
    assert recent.get(99, lambda: -1) == 99  # the newest stay
    recent.forget(99)
    assert recent.get(99, lambda: -1) == -1
    recent.clear()
    assert recent.get(99, lambda: -2) == -2


def test_a_value_read_while_it_was_forgotten_is_not_kept() -> None:
    """A revocation during a key check: the check's answer is used once, never kept for the ttl."""
    recent = Recent[str, str](ttl_s=60)

    def stale_read() -> str:
        recent.forget("k")  # the admin revokes while this read is in flight
        return "active"

    assert recent.get("k", stale_read) == "active"
    assert recent.get("k", lambda: "revoked") == "revoked"
    recent.clear()
    assert recent.get("k", lambda: "read again") == "read again"
