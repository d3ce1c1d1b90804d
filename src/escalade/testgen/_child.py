"""The sandboxed side of a test run: limits, a write/network/process guard, pytest under coverage.

This file is not imported by escalade: its text is run as ``python -I -c <text> <spec.json>`` in a
fresh process (see :mod:`escalade.testgen.sandbox`), using only the standard library, pytest and
coverage. Before any generated code runs, it:

1. lowers its own resource limits (address space, CPU seconds, file size, open files, no core
   dumps) to values it cannot raise again;
2. installs a Python audit hook, which cannot be removed, that refuses writes outside the sandbox
   folder, any network use, new processes and ``ctypes``; each refusal is recorded and written to
   the result, and raises ``PermissionError`` in the code that tried;
3. runs pytest on the generated test file under coverage (branch mode, the target file only) and
   writes one JSON result: each test's outcome, the target's executed and missing lines and
   branches, collection errors and the refusals.

The hook is a second line of defence: the parent also runs this process in its own network
namespace and as an unprivileged user when the machine allows it.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
#: Audit events that change the file system, and which of their arguments are paths.
_FILE_EVENTS = {
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.link": (0, 1),
    "os.symlink": (1,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "shutil.rmtree": (0,),
    "shutil.copyfile": (1,),
    "shutil.copytree": (1,),
    "shutil.move": (1,),
}
_NETWORK_EVENTS = {
    "socket.bind",
    "socket.connect",
    "socket.sendto",
    "socket.sendmsg",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.getnameinfo",
    "urllib.Request",
}
_PROCESS_EVENTS = {
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "os.kill",
    "os.killpg",
    "pty.spawn",
}


def _limit(spec: dict[str, Any]) -> None:
    memory = spec["memory_bytes"]
    limits = {
        resource.RLIMIT_AS: memory,
        resource.RLIMIT_CPU: spec["cpu_seconds"],
        resource.RLIMIT_FSIZE: spec["file_bytes"],
        resource.RLIMIT_NOFILE: 256,
        resource.RLIMIT_CORE: 0,
    }
    for kind, wanted in limits.items():
        hard = resource.getrlimit(kind)[1]
        value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(kind, (value, value))


def _guard(root: str, refusals: list[str]) -> None:
    """Install the audit hook; ``refusals`` collects what it refused (and ``refusals.log`` as it happens)."""
    log = os.path.join(root, "refusals.log")

    def inside(path: object) -> bool:
        if isinstance(path, int):
            return True  # an open file descriptor: its opening was checked
        try:
            real = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return real == root or real.startswith(root + os.sep) or real == os.devnull

    def refuse(what: str) -> None:
        refusals.append(what)
        with open(log, "a", encoding="utf-8") as handle:  # kept even if the process is killed later
            handle.write(what + "\n")
        raise PermissionError(f"escalade sandbox: {what} is not allowed")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
            if writes and path is not None and not inside(path):
                refuse(f"writing {os.fsdecode(path)}")
        elif event in _FILE_EVENTS:
            for index in _FILE_EVENTS[event]:
                if index < len(args) and args[index] is not None and not inside(args[index]):
                    refuse(f"{event} on {os.fsdecode(args[index])}")
        elif event in _NETWORK_EVENTS:
            refuse(f"network access ({event})")
        elif event in _PROCESS_EVENTS:
            refuse(f"starting or signalling processes ({event})")
        elif event.startswith("ctypes."):
            refuse(f"ctypes ({event})")

    sys.addaudithook(hook)


class _Outcomes:
    """A pytest plugin that records each test's outcome and the collection errors."""

    def __init__(self) -> None:
        self.tests: dict[str, str] = {}
        self.collection_errors: list[str] = []

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed:
            self.tests[report.nodeid] = "failed" if report.when == "call" else "error"
        elif report.skipped and report.nodeid not in self.tests:
            self.tests[report.nodeid] = "skipped"
        elif report.when == "call" and report.nodeid not in self.tests:
            self.tests[report.nodeid] = "passed"

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.collection_errors.append(str(report.longrepr)[-2000:])


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec: dict[str, Any] = json.load(handle)
    root = os.path.realpath(spec["root"])
    refusals: list[str] = []
    _limit(spec)
    sys.dont_write_bytecode = True
    _guard(root, refusals)
    sys.path[:0] = [root, *spec["import_paths"]]
    os.chdir(root)
    import coverage  # noqa: PLC0415  (only once the guard is in place)
    import pytest  # noqa: PLC0415

    plugin = _Outcomes()
    cov = coverage.Coverage(data_file=None, branch=True, include=[spec["target"]], config_file=False)
    cov.start()
    try:
        exit_code = int(pytest.main([spec["test_file"], "-q", "-p", "no:cacheprovider", "-c", spec["ini"]], [plugin]))
    finally:
        cov.stop()
    report = os.path.join(root, "coverage.json")
    try:
        cov.json_report(outfile=report)
        with open(report, encoding="utf-8") as handle:
            files = json.load(handle).get("files", {})
    except coverage.exceptions.NoDataError:
        files = {}
    measured: dict[str, list[Any]] = next(iter(files.values()), {})
    result = {
        "exit_code": exit_code,
        "tests": plugin.tests,
        "collection_errors": plugin.collection_errors,
        "executed_lines": measured.get("executed_lines", []),
        "missing_lines": measured.get("missing_lines", []),
        "executed_branches": measured.get("executed_branches", []),
        "missing_branches": measured.get("missing_branches", []),
        "refusals": refusals,
    }
    with open(spec["result"], "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
