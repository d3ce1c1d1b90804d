"""Reading a rule or profile file a user gives: bounded in size, nesting and time, one error naming the file.

A file over :data:`MAX_FILE_BYTES` is refused before it is parsed (a real rule file is a few
kilobytes; a 10 MB YAML file took minutes to parse). YAML is read with libyaml's safe loader where
PyYAML was built with it (``yaml.CSafeLoader``), else with the pure-Python ``SafeLoader``; neither
builds anything but plain data. Nesting too deep for the parser (``RecursionError``, or libyaml's
own depth limit) is the same kind of error as any other unreadable file.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "rules.toml"
>>> _ = path.write_text('disable = ["high_cost"]', encoding="utf-8")
>>> read_data(path, "toml", what="rule file", error=ConfigError)
{'disable': ['high_cost']}
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from escalade.exceptions import ConfigError

__all__ = ["MAX_FILE_BYTES", "Format", "read_data"]

#: The largest rule or profile file read, in bytes (1 MiB).
MAX_FILE_BYTES = 1024 * 1024

Format = Literal["toml", "yaml"]


def _text(path: Path, what: str, error: Callable[..., ConfigError]) -> str:
    """The file's text, refused unread when it is over the limit."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
            size = max(len(data), path.stat().st_size)
    except OSError as exc:
        raise error(f"cannot read the {what}: {exc.strerror or exc}", source=str(path)) from None
    if size > MAX_FILE_BYTES:
        raise error(
            f"the {what} is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes (1 MiB): split or trim it",
            source=str(path),
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"cannot read the {what}: not UTF-8 text ({exc.reason} at byte {exc.start})", source=str(path)
        ) from None


def _yaml(text: str) -> Any:
    import yaml  # noqa: PLC0415  (only for YAML files)

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # a safe loader: plain data only
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise ValueError(f"not valid YAML: {str(exc).splitlines()[0]}{line}") from None


def read_data(path: Path, kind: Format, *, what: str, error: Callable[..., ConfigError]) -> Any:
    """The data in a TOML or YAML file; every problem is an ``error`` naming the file (``what`` says what it is)."""
    text = _text(path, what, error)
    try:
        return tomllib.loads(text) if kind == "toml" else _yaml(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"not valid TOML: {exc}", source=str(path)) from None
    except ValueError as exc:
        raise error(str(exc), source=str(path)) from None
    except RecursionError:
        raise error(
            f"not readable: nested too deeply (a {what} holds plain tables and lists)", source=str(path)
        ) from None
