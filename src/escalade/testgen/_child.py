"""The sandboxed side of a test run: limits, Landlock, an audit guard, pytest under coverage.

This file is not imported by escalade: its text is run as ``python -I -c <text>`` in a fresh process
(see :mod:`escalade.testgen.sandbox`), using only the standard library, pytest and coverage. It reads
its spec from standard input (so nothing secret is on its command line) and talks to the parent over
one inherited pipe, a line at a time: ``ready <json>`` once it is locked down, ``refused <what>`` each
time the guard refuses something, and ``result <token> <json>`` at the end, where the token is a
secret of the spec that generated code never sees a copy of. Before any generated code runs, it:

1. lowers its own resource limits (address space, CPU seconds, file size, open files, no core
   dumps) to values it cannot raise again;
2. applies a Landlock ruleset when the kernel has one: writing, creating, removing and renaming
   files is allowed only inside the work folder (and ``/dev/null``), TCP binds and connects are
   refused, and signals to processes outside the sandbox are refused. The kernel enforces it, for
   this process and everything it starts, whatever the user;
3. installs a Python audit hook that cannot be removed, which refuses the same writes, any network
   use, new processes and ``ctypes``, and reports each refusal.

Then it runs pytest on the generated test file under coverage (branch mode, the target file only,
with the test that ran each line recorded, so lines run only at import are told apart).
"""

from __future__ import annotations

import json
import os
import resource
import sys
from collections.abc import Callable
from typing import Any, TextIO

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_MAX_REFUSALS = 50


def _limit(spec: dict[str, Any]) -> None:
    limits = {
        resource.RLIMIT_AS: spec["memory_bytes"],
        resource.RLIMIT_CPU: spec["cpu_seconds"],
        resource.RLIMIT_FSIZE: spec["file_bytes"],
        resource.RLIMIT_NOFILE: 256,
        resource.RLIMIT_CORE: 0,
    }
    for kind, wanted in limits.items():
        hard = resource.getrlimit(kind)[1]
        value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(kind, (value, value))


def _landlock(work: str) -> str | None:
    """Apply a Landlock ruleset (see the module docstring); what it covers, or ``None`` without Landlock."""
    import ctypes  # noqa: PLC0415  (before the guard, which refuses ctypes to generated code)

    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
    if abi < 1:
        return None
    writes = 0b1_1111_1111_0010  # write_file, remove_dir/file, make_char/dir/reg/sock/fifo/block/sym
    writes |= (1 << 13 if abi >= 2 else 0) | (1 << 14 if abi >= 3 else 0)  # refer, truncate
    fields = [writes, 0b11 if abi >= 4 else 0, 0b11 if abi >= 6 else 0]  # TCP bind/connect; signal, unix scope
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    attr = (ctypes.c_uint64 * 3)(*fields)
    ruleset = libc.syscall(444, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        return None

    class _Beneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    file_writes = 1 << 1 | (1 << 14 if abi >= 3 else 0)
    for path, allowed in ((work, writes), (os.devnull, file_writes)):
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        rule = _Beneath(allowed, fd)
        added = libc.syscall(445, ruleset, 1, ctypes.byref(rule), 0)  # landlock_add_rule(PATH_BENEATH)
        os.close(fd)
        if added < 0:
            return None
    if libc.prctl(38, 1, 0, 0, 0) < 0 or libc.syscall(446, ruleset, 0) < 0:  # no_new_privs; restrict_self
        return None
    covered = ["file writes outside the work folder"]
    covered += ["TCP"] if abi >= 4 else []
    covered += ["signals out of the sandbox"] if abi >= 6 else []
    return f"Landlock ABI {abi}: " + ", ".join(covered)


def _guard(work: str, report: Callable[[str], None]) -> None:
    """Install the audit hook; everything it uses is bound now, so generated code cannot swap it out."""
    realpath, fsdecode, devnull, sep = os.path.realpath, os.fsdecode, os.devnull, os.sep
    write_flags = _WRITE_FLAGS
    # Event: (positions of its paths, positions of its dir_fd arguments), as CPython raises them.
    file_events = {
        "os.remove": ((0,), (1,)), "os.rmdir": ((0,), (1,)), "os.mkdir": ((0,), (2,)),
        "os.rename": ((0, 1), (2, 3)), "os.link": ((0, 1), (2, 3)), "os.symlink": ((1,), (2,)),
        "os.chmod": ((0,), (2,)), "os.chown": ((0,), (3,)), "os.truncate": ((0,), ()), "os.utime": ((0,), (3,)),
        "os.setxattr": ((0,), ()), "os.removexattr": ((0,), ()), "shutil.rmtree": ((0,), (1,)),
        "shutil.copyfile": ((1,), ()), "shutil.copytree": ((1,), ()), "shutil.move": ((1,), ()),
        "sqlite3.connect": ((0,), ()),
    }  # fmt: skip
    network = frozenset(
        {
            "socket.bind", "socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
            "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo", "urllib.Request",
        }
    )  # fmt: skip
    processes = frozenset(
        {
            "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
            "os.kill", "os.killpg", "pty.spawn", "signal.pthread_kill",
        }
    )  # fmt: skip

    def inside(path: object) -> bool:
        if isinstance(path, int):
            return False  # a file descriptor: where it points cannot be checked, so it is not allowed
        try:
            real = realpath(fsdecode(path))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return real in (work, devnull) or real.startswith(work + sep)

    def refuse(what: str) -> None:
        report(what)
        raise PermissionError(f"escalade sandbox: {what} is not allowed")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & write_flags)
            # An int is a descriptor already open (its opening was checked), as pytest's output capture uses.
            if writes and path is not None and not isinstance(path, int) and not inside(path):
                refuse(f"writing {path!r}")
        elif event in file_events:
            paths, dir_fd_positions = file_events[event]
            relative_to_fd = any(isinstance(args[i], int) and args[i] >= 0 for i in dir_fd_positions if i < len(args))
            for index in paths:
                target = args[index] if index < len(args) else None
                if target is not None and (relative_to_fd or not inside(target)):
                    refuse(f"{event} on {target!r}")
        elif event in network:
            refuse(f"network access ({event})")
        elif event in processes:
            refuse(f"starting or signalling processes ({event})")
        elif event.startswith("ctypes."):
            refuse(f"ctypes ({event})")

    sys.addaudithook(hook)


def _outcomes() -> tuple[object, dict[str, str], list[str]]:
    """A pytest plugin recording each test's outcome and the collection errors, in closures, not attributes."""
    tests: dict[str, str] = {}
    errors: list[str] = []

    def pytest_runtest_logreport(report: Any) -> None:
        node = report.nodeid
        if report.failed:
            tests[node] = "failed" if report.when == "call" else "error"
        elif report.skipped and node not in tests:
            tests[node] = "skipped"
        elif report.when == "call" and node not in tests:
            tests[node] = "passed"

    def pytest_collectreport(report: Any) -> None:
        if report.failed:
            errors.append(str(report.longrepr)[-2000:])

    plugin = type("EscaladeOutcomes", (), {})()
    plugin.pytest_runtest_logreport = pytest_runtest_logreport
    plugin.pytest_collectreport = pytest_collectreport
    return plugin, tests, errors


def _measured(cov: Any, work: str) -> dict[str, Any]:
    """The target's lines and branches; a line that ran only outside tests (at import) is left out."""
    report = os.path.join(work, "coverage.json")
    try:
        cov.json_report(outfile=report, show_contexts=True)
        with open(report, encoding="utf-8") as handle:
            files = json.load(handle).get("files", {})
    except Exception:
        files = {}
    measured: dict[str, Any] = next(iter(files.values()), {})
    contexts = measured.get("contexts", {})
    in_tests = [line for line in measured.get("executed_lines", []) if any(contexts.get(str(line), []))]
    return {
        "executed_lines": in_tests,
        "missing_lines": measured.get("missing_lines", []),
        "executed_branches": measured.get("executed_branches", []),
        "missing_branches": measured.get("missing_branches", []),
    }


def main() -> None:
    spec: dict[str, Any] = json.loads(sys.stdin.read())
    token: str = spec.pop("token")
    channel: TextIO = os.fdopen(spec["channel_fd"], "w", buffering=1, encoding="utf-8")
    # Bound now: generated code that replaces json.dumps or the channel's methods later changes nothing here.
    write, flush, dumps, leave = channel.write, channel.flush, json.dumps, os._exit
    work = os.path.realpath(spec["work"])
    refused: list[str] = []

    def report(what: str) -> None:
        refused.append(what)
        if len(refused) <= _MAX_REFUSALS:
            write("refused " + what.replace("\n", " ")[:500] + "\n")

    _limit(spec)
    landlock = _landlock(work) if spec["landlock"] else None
    sys.dont_write_bytecode = True
    _guard(work, report)
    write("ready " + dumps({"landlock": landlock}) + "\n")
    sys.path[:0] = [spec["code_dir"], *spec["import_paths"]]
    os.chdir(work)
    import coverage  # noqa: PLC0415  (only once the sandbox is in place)
    import pytest  # noqa: PLC0415

    plugin, tests, errors = _outcomes()
    cov = coverage.Coverage(data_file=None, branch=True, include=[spec["target"]], config_file=False)
    cov.set_option("run:dynamic_context", "test_function")
    cov.start()
    try:
        exit_code = int(pytest.main([spec["test_file"], "-q", "-p", "no:cacheprovider", "-c", spec["ini"]], [plugin]))
    finally:
        cov.stop()
    result = {"exit_code": exit_code, "tests": dict(tests), "collection_errors": list(errors)}
    result |= _measured(cov, work) | {"refused_total": len(refused)}
    write(f"result {token} " + dumps(result) + "\n")
    flush()
    leave(0)  # nothing the tests started (a thread, say) may write after the result


if __name__ == "__main__":
    main()
