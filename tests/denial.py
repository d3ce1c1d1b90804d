"""A guard against regular expressions that take quadratic time on hostile text (denial of service).

Not a speed goal: the bound is tens of times what a linear pattern needs on this input, and far below
what a quadratic one takes (tens of seconds to hours on the same text).
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Characters of hostile text each guard feeds its function.
HOSTILE_CHARS = 200_000
#: Seconds within which a linear pattern finishes on it, with a wide margin for a loaded machine.
BOUND_S = 5.0


def assert_linear(run: Callable[[str], object], *texts: str) -> None:
    """``run`` on each text returns within :data:`BOUND_S` seconds."""
    for text in texts:
        started = time.process_time()
        run(text)
        took = time.process_time() - started
        assert took < BOUND_S, f"{took:.1f} s CPU on {text[:12]!r}… ({len(text)} characters)"
