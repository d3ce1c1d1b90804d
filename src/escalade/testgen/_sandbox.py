"""Running untrusted generated tests: a private view of the files, limits, a kernel filter, nothing kept of it.

Each run gets a new temporary folder with two parts: ``code/`` holds the copied target module and
the generated test file, read-only to the run; ``work/`` is the only place it may write. The tests
run under pytest and coverage in a separate process (:mod:`escalade.testgen._child`), which reports
over an inherited pipe, never through files it could tamper with. The layers, each one used when the
machine allows it (:attr:`SandboxRun.isolation` says which were, as the child itself reported them):

- **namespaces** (``unshare``): a mount namespace in which the child builds a **private filesystem
  view** (a tmpfs root holding only the interpreter, the system libraries, the run's folders and a few
  devices; no home folder, no ``/run``, no socket on disk), a network namespace with no interfaces,
  a PID namespace and an IPC namespace. As root the child then becomes ``nobody``; otherwise the
  namespaces live in a user namespace of the user's own. At the time limit the parent kills the
  run's processes, found through ``/proc``, and their group;
- **resource limits** the child sets on itself (address space, CPU seconds, file size, open files,
  processes, no core dumps), and a wall-clock limit after which the parent kills the process group;
- **Landlock** (Linux 5.13+): reads only of what the view holds, writes only inside ``work/``, no TCP,
  no abstract sockets or signals out of the sandbox;
- **a seccomp filter**: new processes and programs, sockets, tracing, mounts and namespaces end the
  run in the kernel, C code included;
- **an audit hook** in the child that refuses the same things where Python sees them, and reports
  each refusal, so the test that tried fails and the run is not trusted;
- **a clean environment**: no variable of the parent (no API key), Python in isolated mode, no
  bytecode written, never the user's pytest configuration nor any installed pytest plugin.

By default a run must have every requirement of :data:`REQUIRED_ISOLATION` (at least one layer that
keeps it from the user's files, and the kernel filter): a machine that cannot give them makes
:meth:`Sandbox.check` raise :class:`~escalade.exceptions.SandboxError` before anything is spent, and a
run that lost a layer on the way is not trusted. ``Sandbox(require_isolation=False)`` runs anyway, and
every run then says it is *not isolated*. A run that cannot even start (the sandbox, not the tests, is
broken) raises :class:`~escalade.exceptions.SandboxError`, which stops the whole run rather than
charge every item. Nothing a run printed or chose is kept: :attr:`SandboxRun.problems`, which the notes
store, says what went wrong in fixed words only.

>>> SandboxLimits(time_s=10, memory_mb=512).time_s
10.0
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from escalade.exceptions import ConfigError, SandboxError
from escalade.testgen._isolation import (
    REQUIRED_ISOLATION,
    Isolation,
    SandboxLimits,
    base_spec,
    interpreter,
    lay_out,
    mirror_sources,
    missing,
    probe,
)
from escalade.testgen._run import SandboxRun, read_result

__all__ = ["REQUIRED_ISOLATION", "TEST_FILE", "Sandbox", "SandboxLimits", "SandboxRun"]

logger = logging.getLogger(__name__)

#: Name of the generated test file inside the sandbox folder.
TEST_FILE = "test_escalade_generated.py"
_CHILD = Path(__file__).with_name("_child.py")


@cache
def _child_source() -> str:
    """The sandboxed process's program, read once."""
    return _CHILD.read_text(encoding="utf-8")


_CHANNEL_LIMIT = 8 << 20  # bytes of reports read from a run at most
_GRACE_S = 2.0  # seconds the report pipe is read after the run was killed


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
        self._mirrors: dict[Path, Path | ConfigError] = {}
        self._finalizer = weakref.finalize(self, _remove_all, self._mirrors)

    def _isolation(self) -> Isolation:
        if not self.isolate:
            return Isolation(prefix=(), layers=("resource limits", "audit hook"), view=False, user=None)
        return probe(self.python, _child_source())

    def isolation(self) -> tuple[str, ...]:
        """The layers runs get on this machine, as a probe run of the sandboxed process reported them."""
        return self._isolation().layers

    def missing_isolation(self) -> tuple[str, ...]:
        """The requirements of :data:`REQUIRED_ISOLATION` this machine cannot meet."""
        return missing(self.isolation()) if self.isolate else tuple(REQUIRED_ISOLATION)

    def check(self, target: Path | None = None) -> None:
        """Raise :class:`SandboxError` when runs would not be isolated as required, before anything is spent.

        With ``target``, also prepare (and bound) the copy of the Python sources beside it.
        """
        lacking = self.missing_isolation() if self.require_isolation else ()
        if lacking:
            lost = "; ".join(self._isolation().lost)
            logger.warning("sandbox runs refused: this machine cannot give %s", ", ".join(lacking))
            raise SandboxError(
                "generated tests cannot be isolated on this machine: "
                + "; ".join(f"{need} (needs {' or '.join(REQUIRED_ISOLATION[need])})" for need in lacking)
                + (f" [{lost}]" if lost else "")
                + ". See docs/testgen.md, or allow weaker isolation explicitly (--allow-weak-sandbox)"
            )
        if target is not None:
            self._mirror(target.parent)

    def _mirror(self, folder: Path) -> Path:
        """A read-only copy of the Python sources in ``folder``, made once per folder for this sandbox.

        A folder over the bounds raises :class:`~escalade.exceptions.ConfigError`, each time it is asked
        for, without being walked again.
        """
        folder = folder.resolve()
        if folder not in self._mirrors:
            dest = Path(tempfile.mkdtemp(prefix="escalade-sources-")).resolve()
            try:
                mirror_sources(folder, dest / "beside")
            except ConfigError as exc:
                shutil.rmtree(dest, ignore_errors=True)
                self._mirrors[folder] = exc
            except BaseException:
                shutil.rmtree(dest, ignore_errors=True)
                raise
            else:
                dest.chmod(0o755)
                self._mirrors[folder] = dest
        found = self._mirrors[folder]
        if isinstance(found, ConfigError):
            raise found
        return found / "beside"

    async def run(self, target: Path, test_code: str, *, import_paths: Sequence[Path] = ()) -> SandboxRun:
        """Run ``test_code`` (a pytest file) against ``target`` in a fresh folder, removed afterwards.

        The tests can import the target and the Python modules beside it (a copy of them), and the
        modules in ``import_paths`` (copies too).
        """
        isolation, python = self._isolation(), interpreter(self.python)
        mirrors = [self._mirror(folder) for folder in dict.fromkeys([target.parent.resolve(), *import_paths])]
        mirrors += self._mirrors_of(python.elsewhere)
        base = Path(tempfile.mkdtemp(prefix="escalade-testgen-")).resolve()
        try:
            spec = _prepare(base, target, test_code, self.limits, isolation.user)
            spec |= base_spec(
                base, python.installed, view=isolation.view, user=isolation.user,
                user_namespace=isolation.user_namespace, extra=mirrors,
            )  # fmt: skip
            spec["import_paths"] = [str(m) for m in mirrors]
            if not self.isolate:
                spec |= {"view": None, "syscalls": None, "landlock": False, "seccomp": False}
            return await self._execute(base, spec, isolation)
        finally:
            await asyncio.to_thread(shutil.rmtree, base, ignore_errors=True)

    def _mirrors_of(self, folders: Sequence[str]) -> list[Path]:
        """Copies of the Python sources of ``sys.path`` folders outside the installation (too large ones left out)."""
        found = []
        for folder in folders:
            with contextlib.suppress(ConfigError):
                found.append(self._mirror(Path(folder)))
        return found

    async def _execute(self, base: Path, spec: dict[str, Any], isolation: Isolation) -> SandboxRun:
        read_end, write_end = os.pipe()
        spec |= {"channel_fd": write_end, "token": secrets.token_hex(16)}
        command = [*isolation.prefix, self.python, "-I", "-c", _child_source()]
        work = spec["work"]
        env = {"PATH": os.defpath, "HOME": work, "TMPDIR": str(Path(work) / "tmp"), "LANG": "C.UTF-8"}
        env |= {"LOGNAME": "sandbox", "USER": "sandbox"}  # so nothing looks the user up through the C library
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # no installed pytest plugin loads (some open sockets on import)
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
            channel = _Channel(read_end)
            timed_out = False
            try:
                await asyncio.wait_for(process.wait(), self.limits.time_s)
            except TimeoutError:
                timed_out = True
            finally:
                _kill_run(process.pid)
                await process.wait()
            lines = await channel.lines(grace_s=_GRACE_S)
        try:
            run = read_result(
                lines, base, code=process.returncode, timed_out=timed_out, started=started, spec=spec,
                required=self.require_isolation, isolation=isolation if self.isolate else None,
            )  # fmt: skip
        except SandboxError:
            logger.warning("the sandbox could not start a test run (exit code %s)", process.returncode)
            raise
        logger.debug(
            "sandbox run: %d of %d test case(s) passed in %.1f s; layers: %s",
            run.passed, len(run.tests), run.duration_s, ", ".join(run.isolation) or "none",
        )  # fmt: skip
        if not run.trusted:
            logger.warning("sandbox run not trusted: %s", "; ".join(run.problems))
        return run


class _Channel:
    """The run's report pipe, read as it comes (up to a size limit), never waited on past a grace period."""

    def __init__(self, fd: int):
        os.set_blocking(fd, False)
        self._fd, self._data, self._done = fd, bytearray(), asyncio.Event()
        asyncio.get_running_loop().add_reader(fd, self._read)

    def _read(self) -> None:
        try:
            chunk = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._done.set()
        elif len(self._data) < _CHANNEL_LIMIT:
            self._data += chunk[: _CHANNEL_LIMIT - len(self._data)]

    async def lines(self, *, grace_s: float) -> list[str]:
        """What was reported; a write end still held open (by a process that escaped the kill) is given up on."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), grace_s)
        asyncio.get_running_loop().remove_reader(self._fd)
        os.close(self._fd)
        return self._data.decode("utf-8", "replace").splitlines()


def _remove_all(mirrors: dict[Path, Path | ConfigError]) -> None:
    for path in mirrors.values():
        if isinstance(path, Path):
            shutil.rmtree(path, ignore_errors=True)


def _prepare(
    base: Path, target: Path, test_code: str, limits: SandboxLimits, owner: tuple[int, int] | None
) -> dict[str, Any]:
    """Lay out the run's folders (:func:`lay_out`), with the target and the test file in ``code/``; the spec."""
    code, _ = lay_out(base, owner)
    copy = code / target.name
    shutil.copyfile(target, copy)
    (code / TEST_FILE).write_text(test_code, encoding="utf-8")
    (code / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # never the user's configuration
    for path in code.iterdir():
        path.chmod(0o444)
    return {"target": str(copy), "test_file": str(code / TEST_FILE), "ini": str(code / "pytest.ini")} | limits.spec()


def _kill_run(pid: int) -> None:
    """Kill the run: the processes ``pid`` started (the PID namespace's first, and with it all), then its group.

    Its children are found through ``/proc``, so one that left the process group or session is killed too.
    """
    for child in _children(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, signal.SIGKILL)
    for kill in (os.kill, os.killpg):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = entry.read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry.parent.name))
    return found
