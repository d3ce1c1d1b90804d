"""What a sandboxed run reported, read as hostile input: :class:`SandboxRun` and :func:`read_result`.

The run's reports come over its pipe (see :mod:`escalade.testgen._child`): the layers it got, what
the audit hook refused, and a result signed with the run's secret. :func:`read_result` believes only
a signed result of exactly the shape the child writes, for tests the file holds and lines the
target has; anything else is a run that cannot be trusted. :attr:`SandboxRun.problems` says what
went wrong in fixed words only, so nothing a run printed or chose reaches the store.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
import signal
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from escalade.exceptions import SandboxError
from escalade.testgen._isolation import Isolation, missing, namespace_layers
from escalade.untrusted import parse_json

__all__ = ["SandboxRun", "read_result"]

_OUTPUT_TAIL = 4000
_MAX_REFUSALS = 50


@dataclass(frozen=True, kw_only=True)
class SandboxRun:
    """What happened when the generated tests ran."""

    #: Outcome of each test by pytest node id: ``passed``, ``failed``, ``error`` or ``skipped``.
    tests: Mapping[str, str] = field(default_factory=dict)
    #: Target lines that ran during tests, and statements that did not (lines run only at import are in neither).
    executed_lines: tuple[int, ...] = ()
    missing_lines: tuple[int, ...] = ()
    #: Target branches (``(from, to)`` lines) taken and not taken.
    executed_branches: tuple[tuple[int, int], ...] = ()
    missing_branches: tuple[tuple[int, int], ...] = ()
    #: Errors collecting the test file (an import error, say).
    collection_errors: tuple[str, ...] = ()
    #: What the sandbox refused (the first ones), and how many refusals there were in all.
    refusals: tuple[str, ...] = ()
    refused_total: int = 0
    #: The run was killed at the time limit.
    timed_out: bool = False
    #: Why the run ended without a trustworthy result, if it did (killed, crashed, a result that lies).
    crashed: str | None = None
    #: The isolation layers this run had, as the sandboxed process reported them.
    isolation: tuple[str, ...] = ()
    #: Requirements of :data:`REQUIRED_ISOLATION` this run lacked (run anyway: isolation was not required).
    not_isolated: tuple[str, ...] = ()
    #: Wall time in seconds.
    duration_s: float = 0.0
    #: The end of the run's raw output (pytest's summary, tracebacks): untrusted, never stored; see :attr:`problems`.
    output: str = ""

    @property
    def passed(self) -> int:
        """Test cases that passed."""
        return sum(1 for outcome in self.tests.values() if outcome == "passed")

    @property
    def pass_rate(self) -> float:
        """Share of test *functions* whose every case passed (0 when none ran).

        A parametrized test is one test here, so a hundred trivial cases cannot outweigh a failing test.
        """
        functions: dict[str, bool] = {}
        for node_id, outcome in self.tests.items():
            name = node_id.split("[", 1)[0]
            functions[name] = functions.get(name, True) and outcome == "passed"
        return sum(functions.values()) / len(functions) if functions else 0.0

    @property
    def trusted(self) -> bool:
        """Whether the run ended normally and nothing was refused: only then may its tests be kept."""
        return not (self.timed_out or self.crashed or self.refused_total)

    @property
    def problems(self) -> tuple[str, ...]:
        """What went wrong around the tests, in fixed words only (never text the run chose), for the notes.

        Time limit, crash, isolation, each kind of refusal with its count, the type of each collection
        error. What the run itself printed or named (paths, messages) stays in :attr:`refusals`,
        :attr:`collection_errors` and :attr:`output`, which are never stored.
        """
        found = [f"timed out after {self.duration_s:.1f} s" if self.timed_out else None, self.crashed]
        found += [f"not isolated: {', '.join(self.not_isolated)}" if self.not_isolated else None]
        kinds = Counter(_refusal_kind(what) for what in self.refusals)
        kinds[_SOMETHING] += self.refused_total - len(self.refusals)
        found += [f"refused: {kind}" + (f" ({n} times)" if n > 1 else "") for kind, n in kinds.items() if n > 0]
        found += [f"collection error: {_error_type(error)}" for error in self.collection_errors if error.strip()]
        return tuple(p for p in found if p)


_SOMETHING = "something else the sandbox forbids"
_REFUSALS = {
    "writing ": "writing a file outside the run", "reading ": "reading a file outside the run",
    "listing ": "listing a folder outside the run", "network access": "network access",
    "starting or signalling processes": "starting or signalling a process", "ctypes": "native code (ctypes)",
}  # fmt: skip
_FILE_EVENT = re.compile(r"(?:os|shutil|sqlite3)\.\w+ on ")
_BUILTIN_ERRORS = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
)
_ERROR_TYPE = re.compile(r"^(?:E\s+)?([A-Za-z_][\w.]{0,60})(?::|$)", re.MULTILINE)


def _refusal_kind(refusal: str) -> str:
    """The fixed description of a refusal the audit hook reported (its path or event is left out).

    >>> _refusal_kind("reading '/home/me/.ssh/id_rsa'")
    'reading a file outside the run'
    """
    for start, kind in _REFUSALS.items():
        if refusal.startswith(start):
            return kind
    return "changing a file outside the run" if _FILE_EVENT.match(refusal) else _SOMETHING


def _error_type(error: str) -> str:
    """The built-in exception type of a collection error (its last ``Type: message`` line), else ``an error``.

    Only built-in names are kept: a test can name its own exception class after anything it read.

    >>> _error_type("ImportError while importing\\nE   ModuleNotFoundError: No module named 'x'")
    'ModuleNotFoundError'
    """
    found = _ERROR_TYPE.findall(error)
    name = found[-1] if found else ""
    return name if name in _BUILTIN_ERRORS else "an error"


def read_result(
    lines: list[str],
    base: Path,
    *,
    code: int | None,
    timed_out: bool,
    started: float,
    spec: dict[str, Any],
    required: bool,
    isolation: Isolation | None,
) -> SandboxRun:
    """The run's result from its reports; a run that never got ready means the sandbox itself is broken.

    A run that lacks a requirement, or a layer the probe found on this machine, is not trusted when
    isolation is required.
    """
    output = _tail(base / "output.txt")
    ready = [line for line in lines if line.startswith("ready ")]
    if not ready and not timed_out:
        raise SandboxError(f"the sandbox could not start a test run ({_why(code)}); its output:\n{output}")
    reported = _field(ready[0][6:], "layers") if ready else None
    layers = tuple(str(x) for x in reported) if isinstance(reported, list) else ()
    if isolation is not None:
        layers = (*namespace_layers(isolation.prefix), *layers)
    lost = [layer for layer in isolation.layers if layer not in layers] if isolation else []
    refusals = [line[8:] for line in lines if line.startswith("refused ")]
    lacking = missing(layers)
    common: dict[str, Any] = {
        "isolation": layers,
        "not_isolated": () if required else lacking,
        "duration_s": time.perf_counter() - started,
        "output": output,
        "timed_out": timed_out,
        "refusals": tuple(refusals[:_MAX_REFUSALS]),
        "refused_total": len(refusals),
    }
    if required and (lacking or lost) and ready:
        return SandboxRun(crashed=f"not isolated as required: {', '.join([*lacking, *lost])}", **common)
    signed = f"result {spec['token']} "
    results = [line for line in lines if line.startswith(signed)]
    if timed_out or not results:
        return SandboxRun(crashed=None if timed_out else _why(code), **common)
    try:
        data = parse_json(results[-1][len(signed) :], lambda message, line: ValueError(message))
        return _parsed(data, common, spec)
    except Exception:
        return SandboxRun(crashed="the run reported a result that cannot be read", **common)


_OUTCOMES = frozenset({"passed", "failed", "error", "skipped"})


def _numbers(value: object, *, size: int | None = None) -> list[Any]:
    """``value`` as a list of ints (or of ``size``-long lists of ints); ValueError for anything else."""
    if not isinstance(value, list) or len(value) > 1 << 20:
        raise ValueError("not a list")
    for item in value:
        parts = item if size is not None else [item]
        if size is not None and not (isinstance(item, list) and len(item) == size):
            raise ValueError("not a pair")
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in parts):
            raise ValueError("not an integer")
    return value


def _parsed(data: Any, common: dict[str, Any], spec: dict[str, Any]) -> SandboxRun:
    """A checked result: tests must be in the test file and lines in the target, else it is not trusted."""
    tests = data["tests"]
    if not (isinstance(tests, dict) and all(isinstance(v, str) and v in _OUTCOMES for v in tests.values())):
        raise ValueError("tests")
    errors = data["collection_errors"]
    if not (isinstance(errors, list) and all(isinstance(e, str) for e in errors)):
        raise ValueError("collection errors")
    executed, missing_lines = _numbers(data["executed_lines"]), _numbers(data["missing_lines"])
    taken, not_taken = _numbers(data["executed_branches"], size=2), _numbers(data["missing_branches"], size=2)
    known = _test_names(Path(spec["test_file"]).read_text(encoding="utf-8"))
    statements = len(Path(spec["target"]).read_text(encoding="utf-8").split("\n"))
    if any(k.split("::", 1)[-1].split("[", 1)[0] not in known for k in tests) or any(
        not 0 < n <= statements for n in (*executed, *missing_lines)
    ):
        common["crashed"] = "the run reported tests or lines that do not exist (its result was tampered with)"
        return SandboxRun(**common)
    reported_total = data.get("refused_total", 0)
    total = max(reported_total if isinstance(reported_total, int) else 0, common["refused_total"])
    return SandboxRun(
        tests=dict(tests),
        executed_lines=tuple(executed),
        missing_lines=tuple(missing_lines),
        executed_branches=tuple((a, b) for a, b in taken),
        missing_branches=tuple((a, b) for a, b in not_taken),
        collection_errors=tuple(errors),
        **{**common, "refused_total": total},
    )


def _test_names(code: str) -> set[str]:
    """Qualified names (``test_x``, ``TestA::test_y``) of everything in ``code`` a test could be collected from."""
    names: set[str] = set()

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(prefix + node.name)
            elif isinstance(node, ast.ClassDef):
                walk(node.body, f"{prefix}{node.name}::")
            elif isinstance(node, ast.Assign):
                names.update(prefix + t.id for t in node.targets if isinstance(t, ast.Name))

    try:
        walk(ast.parse(code).body, "")
    except SyntaxError:
        return set()  # nothing can have been collected from it
    return names


def _field(text: str, name: str) -> object:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data.get(name) if isinstance(data, dict) else None


def _tail(path: Path) -> str:
    """The last bytes of the run's output (a file the run cannot replace: only its descriptor was given)."""
    with path.open("rb") as handle:
        handle.seek(max(path.stat().st_size - _OUTPUT_TAIL, 0))
        return handle.read().decode("utf-8", "replace")


def _why(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            return f"killed by signal {-code}"
        hint = {
            "SIGKILL": " (memory or CPU limit?)", "SIGXCPU": " (CPU limit)", "SIGXFSZ": " (file size limit)",
            "SIGSYS": " (a system call the sandbox forbids: a new process or program, a socket, tracing, mounting)",
        }  # fmt: skip
        return f"killed by {name}{hint.get(name, '')}"
    return f"ended with exit code {code} and no result"
