"""Templates a user writes, made safe to render: the inbox's own files and anything else of the kind.

A user's template is untrusted input, and is held to it:

- rendered in a process of their own (:mod:`escalade.inbox._isolated`), limited in memory, CPU
  time and wall time, so a template that is merely expensive is stopped there, never here;
- inside it, in Jinja2's immutable sandbox narrowed further: no globals but a ``range`` that gives
  at most 1,000 numbers a render (no ``dict``, ``cycler``, ``namespace``, ``lipsum``...); no
  attribute of a class or of Python's internals; only the string and mapping methods that do not
  grow their input (``upper``, ``strip``, ``get``, ``items``...; never ``format``); only the filters
  that take no size or format (``default``, ``join``, ``length``, ``sort``...); arithmetic on numbers
  only, within 10**12 (no repetition of strings or lists, no ``%`` formatting); output past 200,000
  characters stops the render; the data is a copy, so nothing it does reaches the item;
- refused when loaded, with the file and the reason: not a regular file (a link, a pipe, a device),
  larger than 64 KiB, not UTF-8, a syntax error, anything that cannot be compiled, an
  ``include``/``import``/``extends`` (no file is ever read from a template), a macro, a call,
  filter or named block, ``self`` or ``super``, a recursive loop, or loops nested more than two deep.

Whatever a template does wrong is an :class:`~escalade.exceptions.InboxError` naming it.
"""

from escalade.templating._isolated import CPU_S, MEMORY_BYTES, WALL_S, render_isolated
from escalade.templating._sandbox import (
    FORMATS,
    MAX_OUTPUT_CHARS,
    MAX_TEMPLATE_BYTES,
    Format,
    check_template,
    read_template,
    render,
)

__all__ = [
    "CPU_S",
    "FORMATS",
    "MAX_OUTPUT_CHARS",
    "MAX_TEMPLATE_BYTES",
    "MEMORY_BYTES",
    "WALL_S",
    "Format",
    "check_template",
    "read_template",
    "render",
    "render_isolated",
]
