"""Numbers read from decision descriptions: records, money, slow-downs, and hostile text."""

from __future__ import annotations

from escalade.autonomy._text import count_of_records, money_of, percent_slower_of
from tests.denial import HOSTILE_CHARS, assert_linear


def test_numbers_are_read() -> None:
    assert count_of_records("delete 25,000 user records and 2.5M rows") == 2_500_000
    assert money_of("refund $1,200 or 5k USD") == 5_000
    assert percent_slower_of("this makes checkout 30% slower") == -30.0


def test_hostile_descriptions_are_read_in_linear_time() -> None:
    """A long run of digits once made the number patterns quadratic (44 s on 10,000 digits)."""
    n = HOSTILE_CHARS
    for read in (count_of_records, money_of, percent_slower_of):
        assert_linear(read, "1" * n, "1," * (n // 2), "1 " * (n // 2), "1." * (n // 2))
