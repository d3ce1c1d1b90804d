"""Running untrusted generated tests: a fresh folder, a time limit, no network, no writes outside.

Each run copies the target module and the generated test file into a new temporary folder and runs
pytest under coverage there, in a separate process (:mod:`escalade.testgen._child`). The layers,
each one used when the machine allows it (:attr:`SandboxRun.isolation` says which were):

- **resource limits** set by the child on itself before any generated code runs: address space
  (``memory_mb``), CPU seconds, file size, open files, no core dumps; and a wall-clock limit
  (``time_s``) after which the parent kills the whole process group;
- **an audit hook** in the child that cannot be removed: writes outside the folder, network use,
  new processes and ``ctypes`` raise ``PermissionError`` and are reported as refusals;
- **a network namespace** with no interfaces (``unshare -n``), and **an unprivileged user**
  (``nobody``, via ``setpriv``) when escalade runs as root, so the operating system itself refuses
  the network and writes to the user's files;
- **a clean environment**: the child sees no environment variable of the parent (no API key), runs
  Python in isolated mode (``-I``) and writes no bytecode.

>>> SandboxLimits(time_s=10, memory_mb=512).time_s
10.0
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from escalade.exceptions import ConfigError

__all__ = ["TEST_FILE", "Sandbox", "SandboxLimits", "SandboxRun"]

#: Name of the generated test file inside the sandbox folder.
TEST_FILE = "test_escalade_generated.py"
_CHILD = Path(__file__).with_name("_child.py")
_OUTPUT_TAIL = 4000


@dataclass(frozen=True, kw_only=True)
class SandboxLimits:
    """What one run of generated tests may use."""

    #: Wall-clock seconds before the run is killed.
    time_s: float = 30.0
    #: Address space in MiB.
    memory_mb: int = 1024
    #: Largest file the run may write, in MiB.
    file_mb: int = 64

    def __post_init__(self) -> None:
        object.__setattr__(self, "time_s", float(self.time_s))
        if not 0 < self.time_s <= 3600:
            raise ConfigError(f"must be between 0 and 3600 seconds, got {self.time_s}", field="time_s")
        if not 128 <= self.memory_mb <= 1 << 20:
            raise ConfigError(f"must be at least 128 MiB, got {self.memory_mb}", field="memory_mb")
        if not 1 <= self.file_mb <= 1 << 16:
            raise ConfigError(f"must be at least 1 MiB, got {self.file_mb}", field="file_mb")


@dataclass(frozen=True, kw_only=True)
class SandboxRun:
    """What happened when the generated tests ran."""

    #: Outcome of each test by pytest node id: ``passed``, ``failed``, ``error`` or ``skipped``.
    tests: Mapping[str, str] = field(default_factory=dict)
    #: Target lines that ran, and statements that did not.
    executed_lines: tuple[int, ...] = ()
    missing_lines: tuple[int, ...] = ()
    #: Target branches (``(from, to)`` lines) taken and not taken.
    executed_branches: tuple[tuple[int, int], ...] = ()
    missing_branches: tuple[tuple[int, int], ...] = ()
    #: Errors collecting the test file (an import error, say).
    collection_errors: tuple[str, ...] = ()
    #: What the guard refused (writes outside the folder, network, processes, ctypes).
    refusals: tuple[str, ...] = ()
    #: The run was killed at the time limit.
    timed_out: bool = False
    #: Why the run ended without a result, if it did (killed by a signal, crashed).
    crashed: str | None = None
    #: The isolation layers this run had.
    isolation: tuple[str, ...] = ()
    #: Wall time in seconds.
    duration_s: float = 0.0
    #: The end of the run's output (pytest's summary, tracebacks).
    output: str = ""

    @property
    def passed(self) -> int:
        """Tests that passed."""
        return sum(1 for outcome in self.tests.values() if outcome == "passed")

    @property
    def pass_rate(self) -> float:
        """Share of the collected tests that passed (0 when none could be collected or run)."""
        return self.passed / len(self.tests) if self.tests else 0.0

    @property
    def problems(self) -> tuple[str, ...]:
        """What went wrong around the tests: time limit, crash, refusals, collection errors."""
        found = [f"timed out after {self.duration_s:.1f} s" if self.timed_out else None, self.crashed]
        found += [f"refused: {what}" for what in self.refusals]
        found += [f"collection error: {error.strip().splitlines()[-1]}" for error in self.collection_errors if error]
        return tuple(p for p in found if p)


class Sandbox:
    """Runs generated tests against a target module; see the module docstring.

    ``isolate=False`` keeps only the limits, the audit hook and the clean environment (for machines
    where namespaces are not allowed, or to compare).
    """

    def __init__(self, limits: SandboxLimits | None = None, *, python: str = sys.executable, isolate: bool = True):
        self.limits = limits or SandboxLimits()
        self.python = python
        self.isolate = isolate

    def isolation(self) -> tuple[str, ...]:
        """The isolation layers runs get on this machine (see the module docstring)."""
        layers = _isolation(self.python)[1] if self.isolate else ()
        return ("resource limits", "audit hook", *layers)

    async def run(self, target: Path, test_code: str, *, import_paths: Sequence[Path] = ()) -> SandboxRun:
        """Run ``test_code`` (a pytest file) against ``target`` in a fresh folder, removed afterwards."""
        root = Path(tempfile.mkdtemp(prefix="escalade-testgen-")).resolve()
        try:
            spec = _prepare(root, target, test_code, [target.parent.resolve(), *import_paths], self.limits)
            prefix, layers, owner = _isolation(self.python) if self.isolate else ([], (), None)
            if owner is not None:
                _give(root, owner)
            return await self._execute(root, spec, prefix, ("resource limits", "audit hook", *layers))
        finally:
            shutil.rmtree(root, ignore_errors=True)

    async def _execute(self, root: Path, spec: Path, prefix: list[str], layers: tuple[str, ...]) -> SandboxRun:
        command = [*prefix, self.python, "-I", "-c", _CHILD.read_text(encoding="utf-8"), str(spec)]
        env = {"PATH": os.defpath, "HOME": str(root), "TMPDIR": str(root / "tmp"), "LANG": "C.UTF-8"}
        started = time.perf_counter()
        with (root / "output.txt").open("wb") as output:
            process = await asyncio.create_subprocess_exec(
                *command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=root, start_new_session=True,
            )  # fmt: skip
            timed_out = False
            try:
                await asyncio.wait_for(process.wait(), self.limits.time_s)
            except TimeoutError:
                timed_out = True
            finally:
                _kill_group(process.pid)
                await process.wait()
        duration = time.perf_counter() - started
        return _read_result(root, process.returncode, timed_out=timed_out, duration=duration, layers=layers)


def _prepare(root: Path, target: Path, test_code: str, import_paths: list[Path], limits: SandboxLimits) -> Path:
    """Lay out the sandbox folder; returns the path of the run's spec."""
    (root / "tmp").mkdir()
    copy = root / target.name
    shutil.copyfile(target, copy)
    (root / TEST_FILE).write_text(test_code, encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # never the user's configuration
    spec = {
        "root": str(root),
        "target": str(copy),
        "test_file": TEST_FILE,
        "ini": str(root / "pytest.ini"),
        "import_paths": [str(p) for p in dict.fromkeys(import_paths)],
        "result": str(root / "result.json"),
        "memory_bytes": limits.memory_mb << 20,
        "cpu_seconds": int(limits.time_s) + 1,
        "file_bytes": limits.file_mb << 20,
    }
    path = root / "spec.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def _give(root: Path, owner: tuple[int, int]) -> None:
    """Hand the folder to the unprivileged user the tests run as."""
    for path in [root, *root.rglob("*")]:
        os.chown(path, *owner)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _read_result(
    root: Path, code: int | None, *, timed_out: bool, duration: float, layers: tuple[str, ...]
) -> SandboxRun:
    output = (root / "output.txt").read_bytes()[-_OUTPUT_TAIL:].decode("utf-8", "replace")
    log = root / "refusals.log"
    refusals = tuple(log.read_text(encoding="utf-8").splitlines()) if log.exists() else ()
    common: dict[str, Any] = {"isolation": layers, "duration_s": duration, "output": output, "timed_out": timed_out}
    result = root / "result.json"
    if timed_out or not result.exists():
        crashed = None if timed_out else _why_no_result(code)
        return SandboxRun(refusals=refusals, crashed=crashed, **common)
    data = json.loads(result.read_text(encoding="utf-8"))
    return SandboxRun(
        tests=dict(data["tests"]),
        executed_lines=tuple(data["executed_lines"]),
        missing_lines=tuple(data["missing_lines"]),
        executed_branches=tuple((int(a), int(b)) for a, b in data["executed_branches"]),
        missing_branches=tuple((int(a), int(b)) for a, b in data["missing_branches"]),
        collection_errors=tuple(data["collection_errors"]),
        refusals=tuple(dict.fromkeys((*refusals, *data["refusals"]))),
        **common,
    )


def _why_no_result(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        hint = {"SIGKILL": " (memory or CPU limit?)", "SIGXCPU": " (CPU limit)", "SIGXFSZ": " (file size limit)"}
        return f"killed by {name}{hint.get(name, '')}"
    return f"ended with exit code {code} and no result"


@cache
def _isolation(python: str) -> tuple[list[str], tuple[str, ...], tuple[int, int] | None]:
    """The command prefix for OS-level isolation, the layers it gives, and the user to run as.

    Each layer is probed by starting ``python`` under it with pytest and coverage imported: a layer
    the machine refuses, or under which that Python cannot run (the unprivileged user cannot read a
    virtual environment in a private home folder, say), is left out.
    """
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    if sys.platform != "linux" or unshare is None:
        return [], (), None
    probe = [python, "-I", "-c", "import coverage, pytest"]
    if os.geteuid() == 0:
        nobody = _nobody()
        if setpriv is not None and nobody is not None:
            uid, gid = nobody
            prefix = [unshare, "-n", "--", setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]
            if _works([*prefix, *probe]):
                return prefix, ("network namespace", "unprivileged user"), nobody
        if _works([unshare, "-n", "--", *probe]):
            return [unshare, "-n", "--"], ("network namespace",), None
        return [], (), None
    if _works([unshare, "-r", "-n", "--", *probe]):
        return [unshare, "-r", "-n", "--"], ("network namespace",), None
    return [], (), None


def _nobody() -> tuple[int, int] | None:
    import pwd  # noqa: PLC0415  (POSIX only, like the rest of the sandbox)

    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def _works(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30, check=False, env={}).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
