"""The sandboxed side of a test run: a private view, limits, Landlock, seccomp, an audit guard, pytest.

This file is not imported by escalade: its text is run as ``python -I -c <text>`` in a fresh process
(see :mod:`escalade.testgen._sandbox`), using only the standard library, pytest and coverage. It reads
its spec from standard input (so nothing secret is on its command line) and talks to the parent over
one inherited pipe, a line at a time: ``ready <json>`` once it is locked down (with the layers it got),
``refused <what>`` each time the guard refuses something, and ``result <token> <json>`` at the end,
where the token is a secret of the spec that generated code never sees a copy of. Before any
generated code runs, it:

1. builds a **private filesystem view** when it was started in a new mount namespace: a fresh tmpfs
   root holding only read-only binds of the Python installation and the system libraries, the run's
   read-only ``code`` folder and a few devices, and a size-limited tmpfs as its ``work`` folder, then
   moves into it with ``pivot_root`` and detaches the old root, so no other file, and no socket on
   disk, exists for it;
2. drops to an unprivileged user (when started as root) and clears its capabilities;
3. lowers its own resource limits (address space, CPU seconds, file size, open files, processes, no
   core dumps) to values it cannot raise again;
4. applies a **Landlock** ruleset when the kernel has one: reads only of the exposed paths, writes only
   inside the work folder (and ``/dev/null``), no TCP, no abstract Unix sockets or signals outside;
5. installs a **seccomp** filter (from the parent's table for this architecture): new processes,
   programs, sockets, tracing, mounts and namespaces end the process; the kernel enforces it for C
   code the audit hook never sees;
6. installs a Python audit hook that cannot be removed, which refuses the same things where Python
   can see them (reads and writes outside, sockets, processes, ``ctypes``) and reports each refusal.

Then it runs pytest on the generated test file under coverage (branch mode, the target file only,
with the test that ran each line recorded, so lines run only at import are told apart). With
``probe`` in the spec it stops after step 6 and reports only the layers it got.
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
# mount(2) flags
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MS_NOATIME, _MS_NODIRATIME, _MS_RELATIME = 1024, 2048, 1 << 21
_ST_TO_MS = {1: _MS_RDONLY, 2: _MS_NOSUID, 4: _MS_NODEV, 8: _MS_NOEXEC, 1024: _MS_NOATIME, 2048: _MS_NODIRATIME}
_ST_RELATIME = 4096


def _libc() -> Any:
    import ctypes  # noqa: PLC0415  (before the guard, which refuses ctypes to generated code)

    return ctypes.CDLL(None, use_errno=True)


def _fail(what: str) -> str:
    import ctypes  # noqa: PLC0415

    return f"{what}: {os.strerror(ctypes.get_errno())}"


def _mount(libc: Any, source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    encode = os.fsencode
    if libc.mount(source and encode(source), encode(target), fstype and encode(fstype), flags, data and encode(data)):
        raise OSError(_fail(f"mount {target}"))


def _bind(libc: Any, source: str, target: str, kind: str) -> None:
    """Bind ``source`` at ``target`` without its submounts, read-only (``/dev/null`` stays writable).

    The remount keeps the flags the source mount already has (a user namespace may not clear them).
    Read-only folders stay executable: the interpreter maps its extension modules from them.
    """
    _mount(libc, source, target, None, _MS_BIND, None)
    held = os.statvfs(source).f_flag
    flags = _MS_REMOUNT | _MS_BIND | _MS_NOSUID | sum(ms for st, ms in _ST_TO_MS.items() if held & st)
    flags |= _MS_RELATIME if held & _ST_RELATIME else 0
    flags |= _MS_NOEXEC if kind == "device" else _MS_NODEV | _MS_RDONLY
    if kind == "device" and source != os.devnull:
        flags |= _MS_RDONLY
    _mount(libc, None, target, None, flags, None)


def _private_view(spec: dict[str, Any], numbers: dict[str, int]) -> None:
    """Build the tmpfs root of the run and move into it (see the module docstring); raises OSError.

    The work folder is a tmpfs of its own there, ``disk_bytes`` large, owned by the user the run becomes.
    """
    root, symlinks, exposed = spec["view"]["root"], spec["view"]["symlinks"], spec["exposed"]
    owner = spec["user"] or [os.getuid(), os.getgid()]
    if "pivot_root" not in numbers:
        raise OSError("no system call numbers for this machine")
    libc = _libc()
    _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE, None)  # nothing of ours propagates back
    _mount(libc, "escalade", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=4m,mode=0755")
    for path, target in symlinks.items():
        os.makedirs(os.path.dirname(root + path), exist_ok=True)
        os.symlink(target, root + path)
    for path, kind in exposed:  # parents come before what lies inside them
        inner = root + path
        if kind in ("file", "device"):
            os.makedirs(os.path.dirname(inner), exist_ok=True)
            if not os.path.lexists(inner):
                os.close(os.open(inner, os.O_CREAT | os.O_WRONLY, 0o644))
        else:
            os.makedirs(inner, exist_ok=True)
        if kind == "work":
            size = f"size={spec['disk_bytes']},nr_inodes={spec['max_files']},mode=0700,uid={owner[0]},gid={owner[1]}"
            _mount(libc, "escalade-work", inner, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, size)
            os.mkdir(inner + "/tmp", 0o700)
            os.chown(inner + "/tmp", *owner)
        else:
            _bind(libc, path, inner, kind)
    os.chdir(root)
    if libc.syscall(numbers["pivot_root"], b".", b".") != 0:
        raise OSError(_fail("pivot_root"))
    if libc.umount2(b".", 2) != 0:  # MNT_DETACH: the old root is gone for good
        raise OSError(_fail("detaching the old root"))
    os.chdir("/")
    _mount(libc, None, "/", None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, None)


def _drop_user(user: list[int] | None, numbers: dict[str, int]) -> list[str]:
    """Become ``user`` (uid, gid) when given, and clear every capability; the layers this gives."""
    import ctypes  # noqa: PLC0415

    layers = []
    if user is not None:
        uid, gid = user
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        layers.append("unprivileged user")
    if "capset" in numbers:
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
        data = (ctypes.c_uint32 * 6)()
        if _libc().syscall(numbers["capset"], ctypes.byref(header), ctypes.byref(data)) != 0:
            raise OSError(_fail("clearing capabilities"))
    return layers


def _limit(spec: dict[str, Any]) -> list[str]:
    limits = {
        resource.RLIMIT_AS: spec["memory_bytes"],
        resource.RLIMIT_CPU: spec["cpu_seconds"],
        resource.RLIMIT_FSIZE: spec["file_bytes"],
        resource.RLIMIT_NOFILE: 256,
        resource.RLIMIT_CORE: 0,
    }
    counted = spec["user"] is not None or spec["user_namespace"]  # per user (in a user namespace: of its own)
    if counted:
        limits[resource.RLIMIT_NPROC] = spec["max_processes"]
    for kind, wanted in limits.items():
        hard = resource.getrlimit(kind)[1]
        value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(kind, (value, value))
    return ["resource limits"] + (["process limit"] if counted else [])


def _landlock(readable: list[str], writable: list[str], devices: list[str]) -> str | None:
    """Apply a Landlock ruleset (see the module docstring); what it covers, or ``None`` without Landlock."""
    import ctypes  # noqa: PLC0415

    libc = _libc()
    abi = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
    if abi < 1:
        return None
    execute, write_file, read_file, read_dir = 1, 2, 4, 8
    everything = (1 << 13) - 1 | (1 << 13 if abi >= 2 else 0) | (1 << 14 if abi >= 3 else 0)
    everything |= 1 << 15 if abi >= 5 else 0  # ioctl on devices: none granted
    truncate = 1 << 14 if abi >= 3 else 0
    fields = [everything, 0b11 if abi >= 4 else 0, 0b11 if abi >= 6 else 0]  # TCP bind/connect; unix, signal
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    attr = (ctypes.c_uint64 * 3)(*fields)
    ruleset = libc.syscall(444, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        return None

    class _Beneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    files = execute | write_file | read_file | truncate
    rules = [(p, execute | read_file | read_dir) for p in readable] + [(p, everything) for p in writable]
    rules += [(p, read_file | (write_file | truncate if p == os.devnull else 0)) for p in devices]
    for path, allowed in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue  # a path this process cannot even reach, it cannot read either: no rule needed
        is_dir = os.path.isdir(path)
        rule = _Beneath(allowed if is_dir else allowed & files, fd)
        added = libc.syscall(445, ruleset, 1, ctypes.byref(rule), 0)  # landlock_add_rule(PATH_BENEATH)
        os.close(fd)
        if added < 0:
            return None
    restricted = libc.prctl(38, 1, 0, 0, 0) == 0 and libc.syscall(446, ruleset, 0) == 0  # no_new_privs; restrict
    os.close(ruleset)
    if not restricted:
        return None
    covered = ["reads and writes outside the run"]
    covered += ["TCP"] if abi >= 4 else []
    covered += ["abstract sockets and signals out of the sandbox"] if abi >= 6 else []
    return f"Landlock ABI {abi}: " + ", ".join(covered)


def _seccomp(table: dict[str, Any] | None) -> bool:
    """Install the parent's seccomp filter for this architecture, on every thread; whether the kernel took it.

    Every listed system call ends the process (``SECCOMP_RET_KILL_PROCESS``); ``clone`` is allowed only
    for threads (``CLONE_THREAD``), ``clone3`` answers ``ENOSYS`` so threads fall back to ``clone``,
    ``prctl(PR_SET_PDEATHSIG)`` ends the process, calls newer than the table answer ``ENOSYS``, and a
    call of another ABI (x32) or architecture ends the process too.
    """
    import ctypes  # noqa: PLC0415

    if not table:
        return False
    kill, allow, nosys = 0x80000000, 0x7FFF0000, 0x00050000 | 38
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    program: list[tuple[int, int, int, int]] = [(ld, 0, 0, 4), (jeq, 1, 0, table["arch"]), (ret, 0, 0, kill)]
    program += [(ld, 0, 0, 0)]
    if table.get("x32_bit"):
        program += [(jge, 0, 1, table["x32_bit"]), (ret, 0, 0, kill)]
    program += [(jge, 0, 1, table["unknown_from"]), (ret, 0, 0, nosys)]
    for number in table["kill"]:
        program += [(jeq, 0, 1, number), (ret, 0, 0, kill)]
    program += [(jeq, 0, 1, table["clone3"]), (ret, 0, 0, nosys)]
    # clone: a thread (CLONE_THREAD in the low half of the first argument), or the end
    program += [(jeq, 0, 4, table["clone"]), (ld, 0, 0, 16), (jset, 1, 0, 0x10000), (ret, 0, 0, kill)]
    program += [(ret, 0, 0, allow)]
    # prctl(PR_SET_PDEATHSIG, ...) would let the process outlive its parent's death
    program += [(jeq, 0, 3, table["prctl"]), (ld, 0, 0, 16), (jeq, 0, 1, 1), (ret, 0, 0, kill)]
    program += [(ret, 0, 0, allow)]

    class _Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]

    class _Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Filter))]

    filters = (_Filter * len(program))(*[_Filter(*instruction) for instruction in program])
    prog = _Program(len(program), filters)
    libc = _libc()
    if libc.prctl(38, 1, 0, 0, 0) < 0:  # PR_SET_NO_NEW_PRIVS
        return False
    # seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC): every thread, or none
    return bool(libc.syscall(table["seccomp"], 1, 1, ctypes.byref(prog)) == 0)


# Event: (positions of its paths, positions of its dir_fd arguments), as CPython raises them.
_FILE_EVENTS = {
    "os.remove": ((0,), (1,)), "os.rmdir": ((0,), (1,)), "os.mkdir": ((0,), (2,)),
    "os.rename": ((0, 1), (2, 3)), "os.link": ((0, 1), (2, 3)), "os.symlink": ((1,), (2,)),
    "os.chmod": ((0,), (2,)), "os.chown": ((0,), (3,)), "os.truncate": ((0,), ()), "os.utime": ((0,), (3,)),
    "os.setxattr": ((0,), ()), "os.removexattr": ((0,), ()), "shutil.rmtree": ((0,), (1,)),
    "shutil.copyfile": ((1,), ()), "shutil.copytree": ((1,), ()), "shutil.move": ((1,), ()),
    "sqlite3.connect": ((0,), ()),
}  # fmt: skip
_NETWORK = frozenset(
    {
        "socket.bind", "socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
        "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo", "urllib.Request",
    }
)  # fmt: skip
_PROCESSES = frozenset(
    {
        "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
        "os.kill", "os.killpg", "pty.spawn", "signal.pthread_kill",
    }
)  # fmt: skip


def _guard(readable: list[str], writable: str, report: Callable[[str], None]) -> None:
    """Install the audit hook; everything it uses is bound now, so generated code cannot swap it out."""
    realpath, fsdecode, devnull, sep, getframe = os.path.realpath, os.fsdecode, os.devnull, os.sep, sys._getframe
    write_flags, readable_roots = _WRITE_FLAGS, (*readable, writable)
    file_events, network, processes = _FILE_EVENTS, _NETWORK, _PROCESSES

    def under(path: object, roots: tuple[str, ...]) -> bool:
        if isinstance(path, int):
            return False  # a file descriptor: where it points cannot be checked, so it is not allowed
        try:
            real = realpath(fsdecode(path))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return any(real == root or real.startswith(root + sep) for root in roots)

    def refuse(what: str) -> None:
        report(what)
        raise PermissionError(f"escalade sandbox: {what} is not allowed")

    def wraps_a_socket_pair() -> bool:
        """A socket object made around a descriptor it was given (``socket.socketpair``), not a new socket."""
        frame = getframe(2)  # this function <- hook <- socket.socket.__init__ (the C code between has no frame)
        return (
            frame.f_code.co_name == "__init__"
            and frame.f_globals.get("__name__") == "socket"
            and frame.f_locals.get("fileno") is not None
        )

    def files(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            if path is None or isinstance(path, int):
                return  # a descriptor already open (its opening was checked), as pytest's output capture uses
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & write_flags)
            if writes and not under(path, (writable, devnull)):
                refuse(f"writing {path!r}")
            elif not writes and not under(path, (*readable_roots, devnull)):
                refuse(f"reading {path!r}")
        elif event in ("os.listdir", "os.scandir"):
            if args and args[0] is not None and not isinstance(args[0], int) and not under(args[0], readable_roots):
                refuse(f"listing {args[0]!r}")
        else:
            paths, dir_fd_positions = file_events[event]
            relative_to_fd = any(isinstance(args[i], int) and args[i] >= 0 for i in dir_fd_positions if i < len(args))
            for index in paths:
                target = args[index] if index < len(args) else None
                if target is not None and (relative_to_fd or not under(target, (writable, devnull))):
                    refuse(f"{event} on {target!r}")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in file_events or event in ("open", "os.listdir", "os.scandir"):
            files(event, args)
        elif event == "socket.__new__" and not wraps_a_socket_pair():
            refuse("network access (a new socket)")
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


def _lock_down(spec: dict[str, Any], report: Callable[[str], None]) -> tuple[list[str], list[str]]:
    """Every layer of the module docstring, in order: the names of those this process got, and why any failed."""
    work, view, numbers = os.path.realpath(spec["work"]), spec["view"], spec["syscalls"] or {}
    exposed: list[list[str]] = spec["exposed"]
    layers, lost = [], []
    if view is not None:
        try:
            _private_view(spec, numbers)
            layers.append("private filesystem view")
        except (OSError, KeyError) as exc:
            lost.append(f"private filesystem view: {exc}")
    layers += _drop_user(spec["user"], numbers)
    layers += _limit(spec)
    readable = [path for path, kind in exposed if kind in ("dir", "file")]
    devices = [path for path, kind in exposed if kind == "device"]
    landlock = _landlock(readable, [work], devices) if spec["landlock"] else None
    layers += [landlock] if landlock else []
    if spec["seccomp"] and _seccomp(spec["syscalls"]):
        layers.append("seccomp filter")
    sys.dont_write_bytecode = True
    sys.path[:] = [p for p in sys.path if any(p == r or p.startswith(r + os.sep) for r in readable)]
    _guard([*readable, *devices], work, report)
    return [*layers, "audit hook"], lost


def main() -> None:
    spec: dict[str, Any] = json.loads(sys.stdin.read())
    token: str = spec.pop("token")
    channel: TextIO = os.fdopen(spec["channel_fd"], "w", buffering=1, encoding="utf-8")
    # Bound now: generated code that replaces json.dumps or the channel's methods later changes nothing here.
    write, flush, dumps, leave = channel.write, channel.flush, json.dumps, os._exit
    refused: list[str] = []

    def report(what: str) -> None:
        refused.append(what)
        if len(refused) <= _MAX_REFUSALS:
            write("refused " + what.replace("\n", " ")[:500] + "\n")

    layers, lost = _lock_down(spec, report)
    write("ready " + dumps({"layers": layers, "lost": lost}) + "\n")
    sys.path[:0] = [spec["code_dir"], *spec["import_paths"]]
    os.chdir(spec["work"])
    import coverage  # noqa: PLC0415  (only once the sandbox is in place)
    import pytest  # noqa: PLC0415

    if spec.get("probe"):  # the layers hold, and the tools still import under them
        write("probed\n")
        flush()
        leave(0)

    plugin, tests, errors = _outcomes()
    cov = coverage.Coverage(data_file=None, branch=True, include=[spec["target"]], config_file=False)
    cov.set_option("run:dynamic_context", "test_function")
    cov.start()
    try:
        exit_code = int(pytest.main([spec["test_file"], "-q", "-p", "no:cacheprovider", "-c", spec["ini"]], [plugin]))
    finally:
        cov.stop()
    result = {"exit_code": exit_code, "tests": dict(tests), "collection_errors": list(errors)}
    result |= _measured(cov, spec["work"]) | {"refused_total": len(refused)}
    write(f"result {token} " + dumps(result) + "\n")
    flush()
    leave(0)  # nothing the tests started (a thread, say) may write after the result


if __name__ == "__main__":
    main()
