"""Reading untrusted input: JSON and TOML text that cannot crash the reader, and text the store can keep.

Python's parsers raise more than their documented error on hostile input: a ``RecursionError``
for brackets nested a few thousand deep, a plain ``ValueError`` for an integer of more than 4,300
digits. :func:`parse_json` and :func:`parse_toml` turn every one of them into the caller's own
error (a :class:`~escalade.exceptions.DatasetError` or :class:`~escalade.exceptions.ConfigError`
naming the file), through a ``fail(message, line)`` callback.

Text that parses can still be refused by the database when a run stores it, part-way and after
spending: both SQLite and PostgreSQL refuse a lone surrogate (``"\\ud800"`` in JSON decodes to one),
PostgreSQL refuses the NUL character, and ids and model names have a column length.
:func:`unstorable` says why a text cannot be kept, so loaders refuse it before the run starts.

>>> unstorable("fine")
>>> unstorable("a\\x00b")
'contains a NUL character at position 1 (the database cannot store it)'
>>> unstorable("x" * 301, max_chars=MAX_ID_CHARS)
'is 301 characters long; the store keeps at most 300'
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Callable
from typing import Any, NoReturn

__all__ = ["MAX_ID_CHARS", "MAX_TIER_CHARS", "parse_json", "parse_toml", "unstorable"]

#: Longest item id and model name the store keeps (``items.item_id``, ``attempts.model``: VARCHAR(300)).
MAX_ID_CHARS = 300
#: Longest tier name the store keeps (``attempts.tier``: VARCHAR(100)).
MAX_TIER_CHARS = 100

#: ``fail(message, line)`` returns the error to raise; ``line`` is ``None`` when the parser gave none.
Fail = Callable[[str, int | None], Exception]


def _too_deep(fail: Fail) -> NoReturn:
    raise fail(f"nested too deeply (more than about {sys.getrecursionlimit():,} levels of brackets)", None)


def _too_long(fail: Fail) -> NoReturn:
    raise fail(f"holds an integer of more than {sys.get_int_max_str_digits():,} digits", None)


def parse_json(text: str, fail: Fail) -> Any:
    """``text`` parsed as JSON; any failure raises ``fail(message, line)``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"not valid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        _too_deep(fail)
    except ValueError:  # the only other ValueError json raises: an integer too long to convert
        _too_long(fail)


def parse_toml(text: str, fail: Fail) -> dict[str, Any]:
    """``text`` parsed as TOML; any failure raises ``fail(message, line)``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise fail(f"not valid TOML: {exc}", None) from None
    except RecursionError:
        _too_deep(fail)
    except ValueError:
        _too_long(fail)


def unstorable(text: str, *, max_chars: int | None = None) -> str | None:
    """Why the store cannot keep ``text`` (``None``: it can)."""
    if "\x00" in text:
        return f"contains a NUL character at position {text.index(chr(0))} (the database cannot store it)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"contains a lone surrogate {text[exc.start]!r} at position {exc.start}, which is not valid Unicode "
            "(\\ud800-\\udfff escapes must come in pairs)"
        )
    if max_chars is not None and len(text) > max_chars:
        return f"is {len(text):,} characters long; the store keeps at most {max_chars:,}"
    return None
