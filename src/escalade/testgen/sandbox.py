"""Running untrusted generated tests: a fresh folder, limits, no network, no writes outside.

Each run gets a new temporary folder with two parts: ``code/`` holds the copied target module and
the generated test file, read-only to the run; ``work/`` is the only place it may write. The tests
run under pytest and coverage in a separate process (:mod:`escalade.testgen._child`), which reports
over an inherited pipe, never through files it could tamper with. The layers, each one used when the
machine allows it (:attr:`SandboxRun.isolation` says which were):

- **resource limits** the child sets on itself before any generated code runs (address space, CPU
  seconds, file size, open files, no core dumps), and a wall-clock limit after which the parent
  kills the whole process group;
- **Landlock** (Linux 5.13+), enforced by the kernel whatever the user: writes only inside
  ``work/``, no TCP, no signals to processes outside the sandbox;
- **namespaces**: a network namespace with no interfaces, a PID namespace (everything the tests
  start dies with them, and no other process can be seen or signalled) with its own ``/proc``;
- **an unprivileged user** (``nobody``, via ``setpriv``, with no new privileges) when escalade runs
  as root;
- **an audit hook** in the child that refuses the same things and reports each refusal;
- **a clean environment**: no variable of the parent (no API key), Python in isolated mode, no
  bytecode written, never the user's pytest configuration.

A run that cannot even start (the sandbox, not the tests, is broken) raises
:class:`~escalade.exceptions.SandboxError`, which stops the whole run rather than charge every item.

>>> SandboxLimits(time_s=10, memory_mb=512).time_s
10.0
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import os
import secrets
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

from escalade.exceptions import ConfigError, SandboxError

__all__ = ["TEST_FILE", "Sandbox", "SandboxLimits", "SandboxRun"]

#: Name of the generated test file inside the sandbox folder.
TEST_FILE = "test_escalade_generated.py"
_CHILD = Path(__file__).with_name("_child.py")
_OUTPUT_TAIL = 4000
_CHANNEL_LIMIT = 8 << 20  # bytes of reports read from a run at most
_MAX_REFUSALS = 50


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
    #: The isolation layers this run had.
    isolation: tuple[str, ...] = ()
    #: Wall time in seconds.
    duration_s: float = 0.0
    #: The end of the run's output (pytest's summary, tracebacks).
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
        """What went wrong around the tests: time limit, crash, refusals, collection errors."""
        found = [f"timed out after {self.duration_s:.1f} s" if self.timed_out else None, self.crashed]
        found += [f"refused: {what}" for what in self.refusals]
        if self.refused_total > len(self.refusals):
            found.append(f"refused {self.refused_total - len(self.refusals)} more")
        found += [f"collection error: {error.strip().splitlines()[-1]}" for error in self.collection_errors if error]
        return tuple(p for p in found if p)


class Sandbox:
    """Runs generated tests against a target module; see the module docstring.

    ``isolate=False`` leaves out the namespaces, the user switch and Landlock, keeping only the
    limits, the audit hook and the clean environment (to compare, or to test the hook alone).
    """

    def __init__(self, limits: SandboxLimits | None = None, *, python: str = sys.executable, isolate: bool = True):
        self.limits = limits or SandboxLimits()
        self.python = python
        self.isolate = isolate

    def isolation(self) -> tuple[str, ...]:
        """The process-level layers runs get on this machine (Landlock is reported per run)."""
        layers = _isolation(self.python)[1] if self.isolate else ()
        return ("resource limits", "audit hook", *layers)

    async def run(self, target: Path, test_code: str, *, import_paths: Sequence[Path] = ()) -> SandboxRun:
        """Run ``test_code`` (a pytest file) against ``target`` in a fresh folder, removed afterwards."""
        base = Path(tempfile.mkdtemp(prefix="escalade-testgen-")).resolve()
        try:
            prefix, layers, owner = _isolation(self.python) if self.isolate else ([], (), None)
            spec = _prepare(base, target, test_code, [target.parent.resolve(), *import_paths], self.limits, owner)
            spec["landlock"] = self.isolate
            return await self._execute(base, spec, prefix, ("resource limits", "audit hook", *layers))
        finally:
            await asyncio.to_thread(shutil.rmtree, base, ignore_errors=True)

    async def _execute(
        self, base: Path, spec: dict[str, Any], prefix: list[str], layers: tuple[str, ...]
    ) -> SandboxRun:
        read_end, write_end = os.pipe()
        spec |= {"channel_fd": write_end, "token": secrets.token_hex(16)}
        command = [*prefix, self.python, "-I", "-c", _CHILD.read_text(encoding="utf-8")]
        work = spec["work"]
        env = {"PATH": os.defpath, "HOME": work, "TMPDIR": str(Path(work) / "tmp"), "LANG": "C.UTF-8"}
        started = time.perf_counter()
        with (base / "output.txt").open("wb") as output:
            try:
                process = await asyncio.create_subprocess_exec(
                    *command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.PIPE,
                    env=env, cwd=work, start_new_session=True, pass_fds=(write_end,),
                )  # fmt: skip
            except OSError as exc:
                os.close(read_end)
                raise SandboxError(f"the sandbox could not start {command[0]}: {exc.strerror or exc}") from exc
            finally:
                os.close(write_end)
            assert process.stdin is not None
            with contextlib.suppress(ConnectionError):  # a child that died at once: its missing result says so
                process.stdin.write(json.dumps(spec).encode())
                await process.stdin.drain()
            process.stdin.close()
            reading = asyncio.ensure_future(_read_channel(read_end))
            timed_out = False
            try:
                await asyncio.wait_for(process.wait(), self.limits.time_s)
            except TimeoutError:
                timed_out = True
            finally:
                _kill_group(process.pid)
                await process.wait()
            lines = await reading
        return _result(
            lines, base, code=process.returncode, timed_out=timed_out, started=started, layers=layers, spec=spec
        )


def _prepare(
    base: Path,
    target: Path,
    test_code: str,
    import_paths: list[Path],
    limits: SandboxLimits,
    owner: tuple[int, int] | None,
) -> dict[str, Any]:
    """Lay out ``code/`` (read-only to the run) and ``work/`` (its only writable place); returns the spec."""
    code, work = base / "code", base / "work"
    code.mkdir()
    (work / "tmp").mkdir(parents=True)
    copy = code / target.name
    shutil.copyfile(target, copy)
    (code / TEST_FILE).write_text(test_code, encoding="utf-8")
    (code / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # never the user's configuration
    for path in (base, code):
        path.chmod(0o755)
    for path in code.iterdir():
        path.chmod(0o444)
    if owner is not None:
        for path in (work, work / "tmp"):
            os.chown(path, *owner)
    return {
        "work": str(work),
        "code_dir": str(code),
        "target": str(copy),
        "test_file": str(code / TEST_FILE),
        "ini": str(code / "pytest.ini"),
        "import_paths": [str(p) for p in dict.fromkeys(import_paths)],
        "memory_bytes": limits.memory_mb << 20,
        "cpu_seconds": int(limits.time_s) + 1,
        "file_bytes": limits.file_mb << 20,
    }


async def _read_channel(fd: int) -> list[str]:
    """The lines the run reported, up to a size limit (anything after is ignored)."""

    def read() -> list[str]:
        data = bytearray()
        with os.fdopen(fd, "rb") as channel:
            while chunk := channel.read(65536):
                if len(data) < _CHANNEL_LIMIT:
                    data += chunk[: _CHANNEL_LIMIT - len(data)]
        return data.decode("utf-8", "replace").splitlines()

    return await asyncio.to_thread(read)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _result(
    lines: list[str],
    base: Path,
    *,
    code: int | None,
    timed_out: bool,
    started: float,
    layers: tuple[str, ...],
    spec: dict[str, Any],
) -> SandboxRun:
    """The run's result from its reports; a run that never got ready means the sandbox itself is broken."""
    output = _tail(base / "output.txt")
    ready = [line for line in lines if line.startswith("ready ")]
    if not ready and not timed_out:
        raise SandboxError(f"the sandbox could not start a test run ({_why(code)}); its output:\n{output}")
    landlock = _field(ready[0][6:], "landlock") if ready else None
    refusals = [line[8:] for line in lines if line.startswith("refused ")]
    common: dict[str, Any] = {
        "isolation": (*layers, landlock) if isinstance(landlock, str) else layers,
        "duration_s": time.perf_counter() - started,
        "output": output,
        "timed_out": timed_out,
        "refusals": tuple(refusals[:_MAX_REFUSALS]),
        "refused_total": len(refusals),
    }
    signed = f"result {spec['token']} "
    results = [line for line in lines if line.startswith(signed)]
    if timed_out or not results:
        return SandboxRun(crashed=None if timed_out else _why(code), **common)
    try:
        return _parsed(json.loads(results[-1][len(signed) :]), common, spec)
    except (ValueError, TypeError, KeyError) as exc:
        return SandboxRun(crashed=f"the run reported a result that cannot be read ({exc})", **common)


def _parsed(data: dict[str, Any], common: dict[str, Any], spec: dict[str, Any]) -> SandboxRun:
    """A checked result: tests must be in the test file and lines in the target, else it is not trusted."""
    tests = {str(k): str(v) for k, v in data["tests"].items()}
    known = _test_names(Path(spec["test_file"]).read_text(encoding="utf-8"))
    statements = len(Path(spec["target"]).read_text(encoding="utf-8").split("\n"))
    lines = [int(n) for key in ("executed_lines", "missing_lines") for n in data[key]]
    if any(k.split("::", 1)[-1].split("[", 1)[0] not in known for k in tests) or any(
        not 0 < n <= statements for n in lines
    ):
        common["crashed"] = "the run reported tests or lines that do not exist (its result was tampered with)"
        return SandboxRun(**common)
    total = max(int(data.get("refused_total", 0)), common["refused_total"])
    return SandboxRun(
        tests=tests,
        executed_lines=tuple(int(n) for n in data["executed_lines"]),
        missing_lines=tuple(int(n) for n in data["missing_lines"]),
        executed_branches=tuple((int(a), int(b)) for a, b in data["executed_branches"]),
        missing_branches=tuple((int(a), int(b)) for a, b in data["missing_branches"]),
        collection_errors=tuple(str(e) for e in data["collection_errors"]),
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
    namespaces = ["-n", "-p", "-f", "-m", "--mount-proc", "--kill-child", "--"]
    layers = ("network namespace", "PID namespace")
    if os.geteuid() == 0:
        nobody = _nobody()
        if setpriv is not None and nobody is not None:
            uid, gid = nobody
            drop = [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--no-new-privs", "--"]
            if _works([unshare, *namespaces, *drop, *probe]):
                return [unshare, *namespaces, *drop], (*layers, "unprivileged user"), nobody
        if _works([unshare, *namespaces, *probe]):
            return [unshare, *namespaces], layers, None
        return [], (), None
    if _works([unshare, "-r", *namespaces, *probe]):
        return [unshare, "-r", *namespaces], layers, None
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
