"""Reading untrusted input: bounded files, JSON, TOML and YAML that cannot crash the reader, storable text.

Python's parsers raise more than their documented error on hostile input: a ``RecursionError``
for brackets nested a few thousand deep, a plain ``ValueError`` for an integer of more than 4,300
digits. :func:`parse_json` and :func:`parse_toml` turn every one of them into the caller's own
error (a :class:`~escalade.exceptions.DatasetError` or :class:`~escalade.exceptions.ConfigError`
naming the file), through a ``fail(message, line)`` callback.

:func:`read_data` reads a TOML or YAML file a user gives (a config, a rule, profile or trigger
file): one over :data:`MAX_FILE_BYTES` is refused before it is parsed (a real one is a few kilobytes;
a 10 MB YAML file took minutes to parse), YAML is read with libyaml's safe loader where PyYAML was
built with it (``yaml.CSafeLoader``), else with the pure-Python ``SafeLoader`` (plain data only),
and every failure is the caller's error naming the file.

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
from pathlib import Path
from typing import Any, Literal, NoReturn

from escalade.exceptions import ConfigError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_ID_CHARS",
    "MAX_TIER_CHARS",
    "Format",
    "parse_json",
    "parse_toml",
    "parse_yaml",
    "read_data",
    "read_text",
    "unstorable",
]

#: The largest config, rule, profile or trigger file read, in bytes (1 MiB).
MAX_FILE_BYTES = 1024 * 1024

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


def parse_yaml(text: str, fail: Fail) -> Any:
    """``text`` parsed as YAML with a safe loader (libyaml's where installed); any failure raises ``fail``."""
    import yaml  # noqa: PLC0415  (only for YAML files)

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # a safe loader: plain data only
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise fail(f"not valid YAML: {str(exc).splitlines()[0]}", None if mark is None else mark.line + 1) from None
    except RecursionError:
        _too_deep(fail)


Format = Literal["toml", "yaml"]


def read_text(path: Path, *, what: str, error: Callable[..., Exception], limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file, refused unread when it is over ``limit`` bytes.

    Every problem is ``error(message, source=path)``, the caller's own error naming the file.
    """
    where = str(path)
    if path.exists() and not path.is_file():
        raise error(f"cannot read the {what}: not a file", source=where)
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
            size = max(len(data), path.stat().st_size)
    except FileNotFoundError:
        raise error(f"{what} not found", source=where) from None
    except OSError as exc:
        raise error(f"cannot read the {what}: {exc.strerror or exc}", source=where) from None
    if size > limit:
        raise error(
            f"the {what} is {size:,} bytes, over the limit of {limit:,} bytes"
            + (f" ({limit >> 20} MiB)" if limit >= 1 << 20 else "")
            + ": split or trim it",
            source=where,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})", source=where) from None


def read_data(path: Path, kind: Format, *, what: str, error: Callable[..., ConfigError]) -> Any:
    """The data in a TOML or YAML file; every problem is an ``error`` naming the file (``what`` says what it is).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rules.toml"
    >>> _ = path.write_text('disable = ["high_cost"]', encoding="utf-8")
    >>> read_data(path, "toml", what="rule file", error=ConfigError)
    {'disable': ['high_cost']}
    """
    text = read_text(path, what=what, error=error)

    def fail(message: str, line: int | None) -> ConfigError:
        return error(message + (f" (line {line})" if line else ""), source=str(path))

    return parse_toml(text, fail) if kind == "toml" else parse_yaml(text, fail)


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
