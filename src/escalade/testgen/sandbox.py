"""Running untrusted generated tests: a private view of the files, limits, a kernel filter, nothing kept of it.

Each run gets a new temporary folder with two parts: ``code/`` holds the copied target module and
the generated test file, read-only to the run; ``work/`` is the only place it may write. The tests
run under pytest and coverage in a separate process (:mod:`escalade.testgen._child`), which reports
over an inherited pipe, never through files it could tamper with. The layers, each one used when the
machine allows it (:attr:`SandboxRun.isolation` says which were, as the child itself reported them):

- **namespaces** (``unshare``): a mount namespace in which the child builds a **private filesystem
  view** (a tmpfs root holding only the interpreter, the system libraries, the run's folders and a few
  devices; no home folder, no ``/run``, no socket on disk), a network namespace with no interfaces,
  and a PID namespace (everything the tests start dies with them). As root the child then becomes
  ``nobody``; otherwise the namespaces live in a user namespace of the user's own;
- **resource limits** the child sets on itself (address space, CPU seconds, file size, open files,
  processes, no core dumps), and a wall-clock limit after which the parent kills the process group;
- **Landlock** (Linux 5.13+): reads only of what the view holds, writes only inside ``work/``, no TCP,
  no abstract sockets or signals out of the sandbox;
- **a seccomp filter**: new processes and programs, sockets, tracing, mounts and namespaces end the
  run in the kernel, C code included;
- **an audit hook** in the child that refuses the same things where Python sees them, and reports
  each refusal, so the test that tried fails and the run is not trusted;
- **a clean environment**: no variable of the parent (no API key), Python in isolated mode, no
  bytecode written, never the user's pytest configuration.

By default a run must have every requirement of :data:`REQUIRED_ISOLATION` (at least one layer that
keeps it from the user's files, and the kernel filter): a machine that cannot give them makes
:meth:`Sandbox.check` raise :class:`~escalade.exceptions.SandboxError` before anything is spent, and a
run that lost a layer on the way is not trusted. ``Sandbox(require_isolation=False)`` runs anyway, and
every run then says it is *not isolated*. A run that cannot even start (the sandbox, not the tests, is
broken) raises :class:`~escalade.exceptions.SandboxError`, which stops the whole run rather than
charge every item. Nothing a run prints is kept beyond a short, sanitised excerpt (:func:`excerpt`).

>>> SandboxLimits(time_s=10, memory_mb=512).time_s
10.0
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from escalade.exceptions import ConfigError, SandboxError
from escalade.testgen._isolation import (
    REQUIRED,
    Isolation,
    base_spec,
    interpreter_paths,
    mirror_sources,
    missing,
    probe,
)

__all__ = ["REQUIRED_ISOLATION", "TEST_FILE", "Sandbox", "SandboxLimits", "SandboxRun", "excerpt"]

#: Name of the generated test file inside the sandbox folder.
TEST_FILE = "test_escalade_generated.py"
#: What every run must have, and the layers any one of which gives it.
REQUIRED_ISOLATION = REQUIRED
_CHILD = Path(__file__).with_name("_child.py")
_OUTPUT_TAIL = 4000
_CHANNEL_LIMIT = 8 << 20  # bytes of reports read from a run at most
_MAX_REFUSALS = 50
_EXCERPT = 160
_SECRETISH = re.compile(r"[A-Za-z0-9+/_-]{24,}=*|-----BEGIN[^-]*-----")
_UNPRINTABLE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[^\x20-\x7e]+")  # terminal escapes, then anything unprintable


def excerpt(text: str, limit: int = _EXCERPT) -> str:
    """A short, safe line from what untrusted code printed: its last line, printable ASCII, long tokens hidden.

    >>> excerpt("Traceback...\\nValueError: key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA leaked")
    'ValueError: key [hidden] leaked'
    """
    lines = [line for line in text.strip().splitlines() if line.strip()]
    line = _SECRETISH.sub("[hidden]", _UNPRINTABLE.sub(" ", lines[-1] if lines else "")).strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass(frozen=True, kw_only=True)
class SandboxLimits:
    """What one run of generated tests may use."""

    #: Wall-clock seconds before the run is killed.
    time_s: float = 30.0
    #: Address space in MiB.
    memory_mb: int = 1024
    #: Largest file the run may write, in MiB.
    file_mb: int = 64
    #: All the run may write in its work folder, in MiB (a tmpfs of this size in the private view).
    disk_mb: int = 256

    def __post_init__(self) -> None:
        object.__setattr__(self, "time_s", float(self.time_s))
        if not 0 < self.time_s <= 3600:
            raise ConfigError(f"must be between 0 and 3600 seconds, got {self.time_s}", field="time_s")
        if not 128 <= self.memory_mb <= 1 << 20:
            raise ConfigError(f"must be at least 128 MiB, got {self.memory_mb}", field="memory_mb")
        if not 1 <= self.file_mb <= 1 << 16:
            raise ConfigError(f"must be at least 1 MiB, got {self.file_mb}", field="file_mb")
        if not 16 <= self.disk_mb <= 1 << 20:
            raise ConfigError(f"must be at least 16 MiB, got {self.disk_mb}", field="disk_mb")


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
        """What went wrong around the tests, each a short sanitised line: time limit, crash, refusals, errors."""
        found = [f"timed out after {self.duration_s:.1f} s" if self.timed_out else None, self.crashed]
        found += [f"not isolated: {', '.join(self.not_isolated)}" if self.not_isolated else None]
        found += [f"refused: {excerpt(what)}" for what in self.refusals]
        if self.refused_total > len(self.refusals):
            found.append(f"refused {self.refused_total - len(self.refusals)} more")
        found += [f"collection error: {excerpt(error)}" for error in self.collection_errors if error.strip()]
        return tuple(p for p in found if p)


class Sandbox:
    """Runs generated tests against a target module; see the module docstring.

    ``isolate=False`` leaves out every operating-system layer (namespaces, the private view, the user
    switch, Landlock, seccomp), keeping only the limits, the audit hook and the clean environment, to
    compare or to test the hook alone; such a sandbox never requires isolation.
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        python: str = sys.executable,
        isolate: bool = True,
        require_isolation: bool = True,
    ):
        self.limits = limits or SandboxLimits()
        self.python = python
        self.isolate = isolate
        #: Whether a run lacking a requirement of :data:`REQUIRED_ISOLATION` is refused (not trusted).
        self.require_isolation = require_isolation and isolate
        self._mirrors: dict[Path, Path] = {}
        self._finalizer = weakref.finalize(self, _remove_all, self._mirrors)

    def _isolation(self) -> Isolation:
        if not self.isolate:
            return Isolation(prefix=(), layers=("resource limits", "audit hook"), view=False, user=None)
        return probe(self.python, _CHILD.read_text(encoding="utf-8"))

    def isolation(self) -> tuple[str, ...]:
        """The layers runs get on this machine, as a probe run of the sandboxed process reported them."""
        return self._isolation().layers

    def missing_isolation(self) -> tuple[str, ...]:
        """The requirements of :data:`REQUIRED_ISOLATION` this machine cannot meet."""
        return missing(self.isolation()) if self.isolate else tuple(REQUIRED)

    def check(self, target: Path | None = None) -> None:
        """Raise :class:`SandboxError` when runs would not be isolated as required, before anything is spent.

        With ``target``, also prepare (and bound) the copy of the Python sources beside it.
        """
        lacking = self.missing_isolation() if self.require_isolation else ()
        if lacking:
            lost = "; ".join(self._isolation().lost)
            raise SandboxError(
                "generated tests cannot be isolated on this machine: "
                + "; ".join(f"{need} (needs {' or '.join(REQUIRED[need])})" for need in lacking)
                + (f" [{lost}]" if lost else "")
                + ". See docs/testgen.md, or allow weaker isolation explicitly (--allow-weak-sandbox)"
            )
        if target is not None:
            self._mirror(target.parent)

    def _mirror(self, folder: Path) -> Path:
        """A read-only copy of the Python sources in ``folder``, made once per folder for this sandbox."""
        folder = folder.resolve()
        if folder not in self._mirrors:
            dest = Path(tempfile.mkdtemp(prefix="escalade-sources-")).resolve()
            try:
                mirror_sources(folder, dest / "beside")
            except BaseException:
                shutil.rmtree(dest, ignore_errors=True)
                raise
            dest.chmod(0o755)
            self._mirrors[folder] = dest
        return self._mirrors[folder] / "beside"

    async def run(self, target: Path, test_code: str, *, import_paths: Sequence[Path] = ()) -> SandboxRun:
        """Run ``test_code`` (a pytest file) against ``target`` in a fresh folder, removed afterwards.

        The tests can import the target and the Python modules beside it (a copy of them), and the
        modules in ``import_paths`` (copies too).
        """
        isolation = self._isolation()
        mirrors = [self._mirror(folder) for folder in dict.fromkeys([target.parent.resolve(), *import_paths])]
        base = Path(tempfile.mkdtemp(prefix="escalade-testgen-")).resolve()
        try:
            spec = _prepare(base, target, test_code, self.limits, isolation.user)
            spec |= base_spec(
                base, interpreter_paths(self.python), view=isolation.view, user=isolation.user, extra=mirrors
            )
            spec["import_paths"] = [str(m) for m in mirrors]
            if not self.isolate:
                spec |= {"view": None, "syscalls": None, "landlock": False, "seccomp": False}
            return await self._execute(base, spec, list(isolation.prefix))
        finally:
            await asyncio.to_thread(shutil.rmtree, base, ignore_errors=True)

    async def _execute(self, base: Path, spec: dict[str, Any], prefix: list[str]) -> SandboxRun:
        read_end, write_end = os.pipe()
        spec |= {"channel_fd": write_end, "token": secrets.token_hex(16)}
        command = [*prefix, self.python, "-I", "-c", _CHILD.read_text(encoding="utf-8")]
        work = spec["work"]
        env = {"PATH": os.defpath, "HOME": work, "TMPDIR": str(Path(work) / "tmp"), "LANG": "C.UTF-8"}
        env |= {"LOGNAME": "sandbox", "USER": "sandbox"}  # so nothing looks the user up through the C library
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
            lines, base, code=process.returncode, timed_out=timed_out, started=started, spec=spec,
            required=self.require_isolation,
        )  # fmt: skip


def _remove_all(mirrors: dict[Path, Path]) -> None:
    for path in mirrors.values():
        shutil.rmtree(path, ignore_errors=True)


def _prepare(
    base: Path, target: Path, test_code: str, limits: SandboxLimits, owner: tuple[int, int] | None
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
        "target": str(copy),
        "test_file": str(code / TEST_FILE),
        "ini": str(code / "pytest.ini"),
        "memory_bytes": limits.memory_mb << 20,
        "cpu_seconds": int(limits.time_s) + 1,
        "file_bytes": limits.file_mb << 20,
        "disk_bytes": limits.disk_mb << 20,
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
    spec: dict[str, Any],
    required: bool,
) -> SandboxRun:
    """The run's result from its reports; a run that never got ready means the sandbox itself is broken."""
    output = _tail(base / "output.txt")
    ready = [line for line in lines if line.startswith("ready ")]
    if not ready and not timed_out:
        raise SandboxError(f"the sandbox could not start a test run ({_why(code)}); its output:\n{output}")
    reported = _field(ready[0][6:], "layers") if ready else None
    layers = tuple(str(x) for x in reported) if isinstance(reported, list) else ()
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
    if required and lacking and ready:
        return SandboxRun(crashed=f"not isolated as required: {', '.join(lacking)}", **common)
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
        hint = {
            "SIGKILL": " (memory or CPU limit?)", "SIGXCPU": " (CPU limit)", "SIGXFSZ": " (file size limit)",
            "SIGSYS": " (a system call the sandbox forbids: a new process or program, a socket, tracing, mounting)",
        }  # fmt: skip
        return f"killed by {name}{hint.get(name, '')}"
    return f"ended with exit code {code} and no result"
