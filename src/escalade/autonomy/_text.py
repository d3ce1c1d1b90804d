"""Reading a decision's description: words, their stems, cue phrases, and stated quantities.

A description is lower-cased and split into words (``snake_case``, ``camelCase``, dots and slashes
split too), and each word is reduced to its Snowball stem, so ``purging``, ``purged`` and ``purge``
read alike. A :class:`Cue` is a short phrase matched on those stems:

- words are stemmed when the cue is built (``"roll out"`` matches "rolled out" and "rolling out");
- ``a|b`` at one position accepts either word;
- ``~`` skips up to four words (``"drop ~ table"`` matches "drop the old audit table");
- a word ending in ``*`` matches any word starting with it, unstemmed (``"authori*"`` matches
  "authorize" and "authorisation", which the stemmer would turn into "author").

>>> words = Words.of("Purging 25k rows from the Users table")
>>> Cue.of("purge ~ row|record").find(words)
(0, 2)
>>> count_of_records("Purging 25k rows from the Users table")
25000
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

__all__ = ["Cue", "Words", "count_of_records", "money_of", "percent_slower_of"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"\d+(?:[.,]\d+)+|[a-z0-9]+(?:'[a-z]+)?")
#: Compound words written apart or with a hyphen, joined before splitting ("pre-prod" is not "prod").
_COMPOUNDS = re.compile(r"\b(pre|non)[- ]?(prod|production)\b")
#: Up to this many words may stand for ``~`` in a cue.
GAP = 4


@cache
def _stemmer() -> Any:
    import snowballstemmer  # noqa: PLC0415  (on first use: nothing happens at import time)

    return snowballstemmer.stemmer("english")


@cache
def stem(word: str) -> str:
    """The Snowball stem of a lower-case word."""
    return str(_stemmer().stemWord(word))


@dataclass(frozen=True)
class Words:
    """A text as lower-case words and their stems."""

    raw: tuple[str, ...]
    stems: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Words:
        lowered = _COMPOUNDS.sub(r"\1\2", _CAMEL.sub(" ", text).lower().replace("_", " "))
        raw = tuple(w.removesuffix("'s") for w in _WORD.findall(lowered))
        return cls(raw=raw, stems=tuple(stem(w) for w in raw))

    def __len__(self) -> int:
        return len(self.raw)

    @cached_property
    def where(self) -> dict[str, tuple[int, ...]]:
        """Positions of each stem, so a cue is tried only where its first word stands."""
        index: dict[str, list[int]] = {}
        for i, s in enumerate(self.stems):
            index.setdefault(s, []).append(i)
        return {s: tuple(found) for s, found in index.items()}


@dataclass(frozen=True)
class _Part:
    stems: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    gap: bool = False

    def accepts(self, words: Words, i: int) -> bool:
        return words.stems[i] in self.stems or any(words.raw[i].startswith(p) for p in self.prefixes)


@dataclass(frozen=True)
class Cue:
    """A phrase over stems (see the module docstring) with a weight."""

    phrase: str
    weight: float = 1.0
    parts: tuple[_Part, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def of(cls, phrase: str, weight: float = 1.0) -> Cue:
        parts: list[_Part] = []
        for token in phrase.split():
            if token == "~":
                parts.append(_Part(gap=True))
                continue
            alternatives = token.split("|")
            prefixes = tuple(a[:-1] for a in alternatives if a.endswith("*"))
            stems: set[str] = set()
            for alternative in alternatives:
                if alternative.endswith("*"):
                    continue
                found = Words.of(alternative).raw
                if len(found) != 1:
                    raise ValueError(f"cue {phrase!r}: {alternative!r} must be one word (use separate cues)")
                stems.add(stem(found[0]))
            parts.append(_Part(stems=frozenset(stems), prefixes=prefixes))
        if not parts or parts[0].gap or parts[-1].gap:
            raise ValueError(f"cue {phrase!r} must start and end with a word")
        return cls(phrase=phrase, weight=weight, parts=tuple(parts))

    def _starts(self, words: Words, start: int) -> Iterable[int]:
        """Positions where the cue's first word may stand, in order (all of them for a prefix)."""
        first = self.parts[0]
        if first.prefixes:
            return range(start, len(words))
        return sorted(i for s in first.stems for i in words.where.get(s, ()) if i >= start)

    def find(self, words: Words, start: int = 0) -> tuple[int, int] | None:
        """``(first, last)`` word positions of the first match at or after ``start``, or ``None``."""
        for i in self._starts(words, start):
            end = self._match(words, i, 0)
            if end is not None:
                return i, end
        return None

    def find_all(self, words: Words) -> list[tuple[int, int]]:
        """``(first, last)`` positions of every match, by first position."""
        return [(i, end) for i in self._starts(words, 0) if (end := self._match(words, i, 0)) is not None]

    def match_at(self, words: Words, i: int) -> int | None:
        """The last position of a match starting exactly at ``i``, or ``None``."""
        return self._match(words, i, 0) if 0 <= i < len(words) else None

    def _match(self, words: Words, i: int, k: int) -> int | None:
        part = self.parts[k]
        if part.gap:
            for skip in range(GAP + 1):
                end = self._match(words, i + skip, k + 1) if i + skip < len(words) else None
                if end is not None:
                    return end
            return None
        if i >= len(words) or not part.accepts(words, i):
            return None
        if k == len(self.parts) - 1:
            return i
        return self._match(words, i + 1, k + 1)


_SCALE = {
    "k": 1_000,
    "thousand": 1_000,
    "m": 1_000_000,
    "mm": 1_000_000,
    "million": 1_000_000,
    "mil": 1_000_000,
    "b": 1_000_000_000,
    "bn": 1_000_000_000,
    "billion": 1_000_000_000,
}
# A number starts where a digit run starts, and its run is bounded and possessive: an unbounded ``\d[\d,_]*``
# before optional parts, tried at every digit, is quadratic on a long run of digits.
_NUMBER = r"(?<![\d,_.])(\d[\d,_]{0,30}+(?:\.\d{1,12})?)\s*(k|m|mm|mil|b|bn|thousand|million|billion)?"
_RECORDS = re.compile(
    _NUMBER + r"\+?\s+(?:[a-z-]+\s+){0,2}?"
    r"(rows?|records?|users?|accounts?|customers?|entries|entry|documents?|docs|orders?|items?|profiles?|"
    r"emails?|messages?|events?|transactions?|subscribers?|members?|patients?|tenants?|objects?|files?|tickets?|"
    r"invoices?|payments?|refunds?|sessions?|devices?|photos?|images?|comments?|posts?|reviews?|products?|"
    r"contacts?|leads?|jobs?|rows? of data)\b"
)
_MONEY = re.compile(r"(?:\$|usd\s?|us\$)\s?" + _NUMBER + r"|" + _NUMBER + r"\s*(?:usd|dollars|bucks)\b")
_PERCENT = r"(?<![\d.])(\d{1,6}+(?:\.\d{1,6})?)\s?(?:%|percent)"
_SLOWER = re.compile(
    # "30% slower", "a 40% latency increase", "30% increase in response time"
    _PERCENT + r"\s+(?:slower|more latency|higher latency|(?:p\d{1,3} )?latency (?:increase|regression)|"
    r"(?:performance |throughput )?(?:degradation|regression|drop|hit)|less throughput|lower throughput|"
    r"(?:increase|rise) in (?:p\d{1,3} )?(?:latency|response times?)|(?:drop|fall|decrease) in throughput)"
    # "increases p99 latency by 40%", "throughput drops by 50%"
    r"|(?:latency|response times?)\s+(?:increases?|goes up|rises?|grows?)\s+by\s+"
    + _PERCENT
    + r"|(?:increases?|raises?)\s+(?:the\s+)?(?:p\d{1,3}\s+)?(?:latency|response times?)\s+by\s+"
    + _PERCENT
    + r"|throughput\s+(?:drops?|falls?|decreases?|goes down)\s+by\s+"
    + _PERCENT
)


def _amount(digits: str, scale: str | None) -> float:
    return float(digits.replace(",", "").replace("_", "")) * _SCALE.get(scale or "", 1)


def count_of_records(text: str) -> int | None:
    """The largest stated number of records (``25,000 user records``, ``2.5M rows``), if any."""
    found = [_amount(m.group(1), m.group(2)) for m in _RECORDS.finditer(text.lower())]
    return int(max(found)) if found else None


def money_of(text: str) -> float | None:
    """The largest amount of money stated (``$1,200``, ``5k USD``), if any."""
    amounts = []
    for m in _MONEY.finditer(text.lower()):
        digits, scale = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        amounts.append(_amount(digits, scale))
    return max(amounts) if amounts else None


def percent_slower_of(text: str) -> float | None:
    """A stated slow-down as a negative percentage (``30% slower`` → -30), if any."""
    found = [float(next(g for g in m.groups() if g is not None)) for m in _SLOWER.finditer(text.lower())]
    return -min(max(found), 100.0) if found else None
