"""Your templates are rendered in a process of their own, with its memory, CPU time and wall time bounded.

The sandbox of :mod:`escalade.templating._sandbox` keeps a template away from Python's internals and
the data; what it cannot stop by itself is a template that is merely expensive (a filter given a
huge width, loops over long strings). So a user's template is rendered by
``python -I -m escalade.templating._isolated`` (no environment variables of the parent's read, no
current folder on the path), which first limits itself to :data:`MEMORY_BYTES` of address space and
:data:`CPU_S` seconds of CPU, and is killed after :data:`WALL_S` seconds. It reads one JSON request
on stdin and writes one JSON answer on stdout; anything else it does is an
:class:`~escalade.exceptions.InboxError` naming the template. The built-in templates, which are
ours, render in the calling process.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from escalade.exceptions import InboxError
from escalade.templating._sandbox import render

__all__ = ["CPU_S", "MEMORY_BYTES", "WALL_S", "render_isolated"]

#: Address space the rendering process may use.
MEMORY_BYTES = 768 * 1024 * 1024
#: CPU seconds it may use.
CPU_S = 5
#: Seconds it may take in all before it is killed.
WALL_S = 15.0
#: Largest answer read back (the renderer caps its own output well below this).
_MAX_ANSWER = 2_000_000


def render_isolated(name: str, text: str, fmt: str, data: Mapping[str, Any]) -> str:
    """``text`` rendered as ``fmt`` with ``data`` in a limited process (see the module docstring)."""
    request = json.dumps({"name": name, "text": text, "format": fmt, "data": data})
    try:
        done = subprocess.run(  # our own module, in isolated mode, with a minimal environment
            [sys.executable, "-I", "-m", "escalade.templating._isolated"],
            input=request,
            capture_output=True,
            text=True,
            timeout=WALL_S,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InboxError(f"template {name!r} took longer than {WALL_S:g} s to render") from None
    except OSError as exc:
        raise InboxError(f"template {name!r} could not be rendered: {exc.strerror}") from None
    try:
        answer = json.loads(done.stdout[:_MAX_ANSWER]) if done.stdout else {}
    except ValueError:
        answer = {}
    if isinstance(answer, dict) and isinstance(answer.get("text"), str):
        return str(answer["text"])
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        raise InboxError(str(answer["error"])[:500])
    why = "ran out of CPU time or memory" if done.returncode < 0 or done.returncode == 137 else "failed"
    raise InboxError(f"template {name!r} {why} while rendering (exit {done.returncode})")


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_S, CPU_S))


def main() -> None:
    """The worker: read the request, render it under the limits, write the answer."""
    request = json.loads(sys.stdin.read(_MAX_ANSWER))
    _limit()
    try:
        text = render(request["name"], request["text"], request["format"], request["data"])
        sys.stdout.write(json.dumps({"text": text}))
    except InboxError as exc:
        sys.stdout.write(json.dumps({"error": str(exc)}))
    except MemoryError:
        sys.stdout.write(json.dumps({"error": f"template {request['name']!r} ran out of memory"}))


if __name__ == "__main__":
    main()
