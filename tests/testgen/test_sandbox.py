"""The sandbox: generated tests that read, delete, write, connect, spawn, hang or hog are stopped and reported."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from escalade.exceptions import ConfigError, SandboxError
from escalade.testgen import Sandbox, SandboxLimits, SandboxRun, _isolation, probe, read_result
from escalade.testgen import _sandbox as sandbox_module

TARGET = """
def divide(a, b):
    if b == 0:
        raise ZeroDivisionError("b is zero")
    return a / b
"""

GOOD = """
import pytest
from target import divide


def test_divides():
    assert divide(6, 3) == 2


def test_zero():
    with pytest.raises(ZeroDivisionError):
        divide(1, 0)


def test_wrong():
    assert divide(1, 2) == 1
"""


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A module under test, beside a file of the user's that nothing may touch."""
    (tmp_path / "precious.txt").write_text("the user's work\n", encoding="utf-8")
    path = tmp_path / "target.py"
    path.write_text(TARGET, encoding="utf-8")
    return path


def run(target: Path, code: str, **limits: float) -> SandboxRun:
    return asyncio.run(Sandbox(SandboxLimits(**limits)).run(target, code))  # type: ignore[arg-type]


def test_runs_tests_and_measures_coverage(target: Path) -> None:
    """Each test's outcome and the target's lines and branches come back from the run."""
    result = run(target, GOOD)
    assert dict(result.tests) == {
        "test_escalade_generated.py::test_divides": "passed",
        "test_escalade_generated.py::test_zero": "passed",
        "test_escalade_generated.py::test_wrong": "failed",
    }
    assert result.pass_rate == pytest.approx(2 / 3)
    assert set(result.executed_lines) == {3, 4, 5}  # the def line runs at import, not in a test: left out
    assert result.missing_lines == ()
    assert set(result.executed_branches) == {(3, 4), (3, 5)}
    assert result.problems == ()
    assert "resource limits" in result.isolation
    assert "audit hook" in result.isolation


EVIL = """
import os
import shutil
import socket
import subprocess


def test_deletes_outside(): os.remove("{outside}/precious.txt")
def test_writes_outside(): open("{outside}/planted.txt", "w").write("x")
def test_renames_outside(): os.rename("{outside}/precious.txt", "{outside}/moved.txt")
def test_removes_tree(): shutil.rmtree("{outside}")
def test_connects(): socket.socket().connect(("127.0.0.1", 5432))
def test_connects_unix(): socket.socket(socket.AF_UNIX).connect("/var/run/postgresql/.s.PGSQL.5432")
def test_resolves(): socket.getaddrinfo("example.com", 80)
def test_spawns(): subprocess.run(["true"], check=True)
def test_system(): os.system("true")
def test_loads_a_library(): __import__("ctypes").CDLL(None)
def test_sees_no_secret(): assert "OPENAI_API_KEY" not in os.environ and "ESCALADE_MASTER_KEY" not in os.environ
def test_writes_inside(): open("scratch.txt", "w").write("fine")
"""


def test_harmful_tests_are_stopped_and_reported(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deleting, writing or renaming outside, the network, new processes and ctypes are refused; files survive."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak-0123456789")
    outside = target.parent
    result = run(target, EVIL.format(outside=outside))
    outcomes = {node.split("::")[1]: outcome for node, outcome in result.tests.items()}
    assert outcomes.pop("test_sees_no_secret") == "passed"
    assert outcomes.pop("test_writes_inside") == "passed"
    assert set(outcomes.values()) == {"failed"}
    refused = "\n".join(result.refusals)
    for fragment in (
        f"os.remove on '{outside}/precious.txt'",
        f"writing '{outside}/planted.txt'",
        "os.rename",
        "shutil.rmtree",
        "network access (a new socket)",
        "network access (socket.getaddrinfo)",
        "subprocess.Popen",
        "os.system",
        "ctypes",
    ):
        assert fragment in refused
    assert all(p.startswith("refused: ") for p in result.problems)
    assert (outside / "precious.txt").read_text(encoding="utf-8") == "the user's work\n"
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt", "target.py"]


def test_endless_test_is_killed_at_the_time_limit(target: Path) -> None:
    """A test that never ends is killed with its process group at the time limit, and the run says so."""
    result = run(target, "def test_forever():\n    while True:\n        pass\n", time_s=3)
    assert result.timed_out
    assert 3 <= result.duration_s < 15
    assert result.tests == {}
    assert result.problems[0].startswith("timed out after")


def test_memory_hog_fails_its_test_only(target: Path) -> None:
    """Asking for more memory than the limit fails that test; the run and the other tests go on."""
    code = "def test_hog():\n    bytearray(3 * 1024 ** 3)\n\n\ndef test_fine():\n    assert 1 + 1 == 2\n"
    result = run(target, code, memory_mb=512)
    assert {n.split("::")[1]: o for n, o in result.tests.items()} == {"test_hog": "failed", "test_fine": "passed"}


def test_broken_file_is_a_collection_error(target: Path) -> None:
    """A test file that cannot be imported has no tests and reports why."""
    result = run(target, "import no_such_module\n\ndef test_a():\n    assert True\n")
    assert result.tests == {}
    assert result.pass_rate == 0.0
    assert result.problems == ("collection error: ModuleNotFoundError",)
    assert "no_such_module" in result.collection_errors[0]  # the detail stays in memory, never in the notes


def test_guard_holds_without_os_isolation(target: Path) -> None:
    """With namespaces and the user switch off, the audit hook alone still refuses writes outside."""
    code = f'def test_write():\n    open("{target.parent}/planted.txt", "w").write("x")\n'
    result = asyncio.run(Sandbox(SandboxLimits(), isolate=False).run(target, code))
    assert result.isolation == ("resource limits", "audit hook")
    assert result.refusals == (f"writing '{target.parent}/planted.txt'",)
    assert not (target.parent / "planted.txt").exists()


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"time_s": 0}, "time_s"),
        ({"time_s": 10_000}, "time_s"),
        ({"memory_mb": 64}, "memory_mb"),
        ({"file_mb": 0}, "file_mb"),
    ],
)
def test_limits_are_checked(limits: dict[str, float], field: str) -> None:
    """Limits out of range are refused with the field named."""
    with pytest.raises(ConfigError, match=f"field '{field}'"):
        SandboxLimits(**limits)  # type: ignore[arg-type]


def test_kernel_refuses_what_the_hook_cannot_see(target: Path) -> None:
    """A write relative to an open folder (dir_fd) slips past the audit hook; Landlock or the user switch stop it."""
    outside = target.parent
    outside.chmod(0o777)  # so that only the sandbox, not file permissions, protects the user's file
    (outside / "precious.txt").chmod(0o666)
    code = (
        "import os\n\ndef test_dir_fd():\n"
        f"    folder = os.open({str(outside)!r}, os.O_RDONLY)\n"
        "    fd = os.open('precious.txt', os.O_WRONLY | os.O_TRUNC, dir_fd=folder)\n"
        "    os.write(fd, b'gone')\n"
    )
    result = run(target, code)
    assert dict(result.tests) == {"test_escalade_generated.py::test_dir_fd": "failed"}
    assert any(layer.startswith("Landlock") for layer in result.isolation)
    assert (outside / "precious.txt").read_text(encoding="utf-8") == "the user's work\n"


def test_a_forged_result_is_ignored(target: Path) -> None:
    """A fake result line written to the run's channel, then exiting, fools nothing: only a signed result counts."""
    fake = '{"tests": {"test_escalade_generated.py::test_wrong": "passed"}, "collection_errors": [], ' + (
        '"executed_lines": [], "missing_lines": [], "executed_branches": [], "missing_branches": []}'
    )
    code = (
        "import json\n\ndef test_wrong():\n"
        "    for fd in range(3, 20):\n"
        "        try:\n"
        f"            open(fd, 'w', closefd=False).write('result ' + {fake!r} + '\\n')\n"
        "        except OSError:\n"
        "            pass\n"
        "    os._exit(0)  # so that the run's own result never comes\n"
    )
    result = run(target, code.replace("import json", "import json, os"))
    assert result.tests == {}
    assert result.crashed == "ended with exit code 0 and no result"
    assert not result.trusted


def test_untrusted_run_flags() -> None:
    """Only a run that ended normally with nothing refused is trusted; parametrized cases count as one test."""
    ids = {"f.py::test_a[1]": "passed", "f.py::test_a[2]": "failed", "f.py::test_b": "passed"}
    assert SandboxRun(tests=ids).pass_rate == 0.5
    assert SandboxRun(tests=ids).trusted
    assert not SandboxRun(tests=ids, refused_total=1).trusted
    assert not SandboxRun(tests=ids, timed_out=True).trusted
    assert not SandboxRun(tests=ids, crashed="killed by signal 40").trusted


@pytest.mark.parametrize("python", ["/bin/false", "/no/such/python"])
def test_broken_sandbox_is_an_error_not_a_score(target: Path, python: str) -> None:
    """When the sandbox itself cannot start a run, that is a SandboxError, not a zero for the tests."""
    with pytest.raises(SandboxError, match="the sandbox could not start"):
        asyncio.run(Sandbox(python=python, isolate=False).run(target, GOOD))


@pytest.fixture
def unix_server(tmp_path: Path) -> Iterator[tuple[Path, list[int]]]:
    """A listening socket on disk, as a database or an SSH agent has: its folder, and the connections it got."""
    folder = Path(tempfile.mkdtemp(prefix="sock-"))  # short: socket paths are limited to 108 bytes
    folder.chmod(0o777)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / ".s.PGSQL.5999"))
    (folder / ".s.PGSQL.5999").chmod(0o777)
    server.listen()
    server.settimeout(0.2)
    connections: list[int] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn, _ = server.accept()
                connections.append(1)
                conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield folder, connections
    stop.set()
    thread.join()
    server.close()
    shutil.rmtree(folder, ignore_errors=True)


C_LIBRARY_SOCKET = """
import psycopg


def test_reaches_the_server():
    try:
        psycopg.connect("host={folder} port=5999 user=x dbname=x connect_timeout=2")
    except psycopg.OperationalError:
        pass  # the server hangs up at once; reaching it was the point
"""


def test_socket_on_disk_reached_through_a_c_library_ends_the_run(
    target: Path, unix_server: tuple[Path, list[int]]
) -> None:
    """libpq connecting to a socket file (no audit event from C code) is stopped by the kernel and reported."""
    folder, connections = unix_server
    code = C_LIBRARY_SOCKET.format(folder=folder)
    control = tmp_copy(target, code)
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(control)], check=False)
    assert connections == [1]  # outside the sandbox the attack works
    result = run(target, code)
    assert connections == [1]  # inside, nothing arrived
    assert result.crashed is not None
    assert "SIGSYS" in result.crashed
    assert "a socket" in result.crashed
    assert not result.trusted
    assert result.tests == {}


def tmp_copy(target: Path, code: str) -> Path:
    """``code`` as a test file beside ``target``, to run it outside the sandbox for comparison."""
    path = target.parent / "test_control.py"
    path.write_text(code, encoding="utf-8")
    return path


def test_files_and_sockets_outside_the_run_do_not_exist_for_it(
    target: Path, unix_server: tuple[Path, list[int]]
) -> None:
    """The private view holds no home folder, no /run, no socket on disk, no file beside the target but Python."""
    folder, _ = unix_server
    hidden = [folder / ".s.PGSQL.5999", target.parent / "precious.txt", Path("/etc/passwd"), Path("/run"), Path("/var")]
    hidden += [Path.home() / name for name in (".bashrc", ".ssh", ".config")]
    paths = [str(p) for p in hidden]
    code = f"import os\n\ndef test_hidden():\n    assert [p for p in {paths!r} if os.path.exists(p)] == []\n"
    code += "\n\ndef test_python_and_the_target_are_there():\n    import json, target\n"
    code += "    assert target.divide(4, 2) == 2\n"
    result = run(target, code)
    assert result.passed == 2, result.output
    assert "private filesystem view" in result.isolation
    assert result.trusted


@pytest.fixture
def secret(target: Path) -> Path:
    """A private key beside the target, readable by anyone as far as file permissions go."""
    target.parent.chmod(0o755)
    path = target.parent / "id_rsa"
    path.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n", encoding="utf-8")
    path.chmod(0o644)
    return path


def test_reading_outside_the_run_is_refused_and_reported(target: Path, secret: Path) -> None:
    """A test that reads a key file fails, the refusal is reported, and the run is not trusted."""
    code = f"def test_steals():\n    assert open({str(secret)!r}).read().startswith('-----BEGIN')\n"
    result = run(target, code)
    assert dict(result.tests) == {"test_escalade_generated.py::test_steals": "failed"}
    assert result.refusals == (f"reading {str(secret)!r}",)
    assert not result.trusted


KERNEL_READ = """
import ssl


def test_reads_through_openssl():
    # OpenSSL opens the file in C: the audit hook never sees it
    try:
        ssl.create_default_context().load_verify_locations(cafile={path!r})
    except ssl.SSLError as exc:
        raise AssertionError("the file was read (it is not a certificate): " + str(exc))
    except OSError:
        pass  # the kernel refused to open it
"""


@pytest.mark.parametrize("layers", ["all", "landlock only"])
def test_kernel_refuses_reads_the_hook_cannot_see(
    target: Path, secret: Path, layers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read from C code is refused by the private view, and by Landlock alone where there are no namespaces."""
    if layers == "landlock only":
        monkeypatch.setattr(_isolation, "_candidates", lambda: [((), False, None)])
    probe.cache_clear()
    try:
        result = run(target, KERNEL_READ.format(path=str(secret)))
    finally:
        probe.cache_clear()
    assert result.passed == 1, result.output
    assert ("private filesystem view" in result.isolation) == (layers == "all")
    assert any(layer.startswith("Landlock") for layer in result.isolation)
    control = tmp_copy(target, KERNEL_READ.format(path=str(secret)))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(control)], check=False)
    assert done.returncode == 1  # outside the sandbox OpenSSL reads it


SPAWN_WITHOUT_AUDIT = """
import os

spawn = __import__("_posix" + "subprocess").fork_exec  # no audit event, and a name no static check sees


def test_spawns():
    read, write = os.pipe()
    spawn([b"/bin/sh"], [b"/bin/sh"], True, (write,), None, None, -1, -1, -1, -1, -1, -1, read, write,
          False, False, -1, None, None, None, -1, None, False)
"""


def test_new_process_without_an_audit_event_ends_the_run(target: Path) -> None:
    """``_posixsubprocess.fork_exec`` raises no audit event; the kernel filter ends the run at the fork."""
    result = run(target, SPAWN_WITHOUT_AUDIT)
    assert result.crashed is not None
    assert "SIGSYS" in result.crashed
    assert not result.trusted


def test_everyday_python_still_works(target: Path) -> None:
    """Threads, asyncio (a socket pair), tmp_path and the standard library pass under every layer."""
    code = (
        "import asyncio, threading, zoneinfo\n\n"
        "def test_asyncio():\n    assert asyncio.run(asyncio.sleep(0, result=3)) == 3\n\n"
        "def test_thread():\n    seen = []\n    t = threading.Thread(target=seen.append, args=(1,))\n"
        "    t.start()\n    t.join()\n    assert seen == [1]\n\n"
        "def test_tmp_path(tmp_path):\n    (tmp_path / 'a').write_text('b')\n"
        "    assert (tmp_path / 'a').read_text() == 'b'\n"
    )
    result = run(target, code)
    assert result.passed == 3, result.output
    assert result.problems == ()
    assert result.not_isolated == ()


def test_stored_problems_carry_no_text_the_run_chose(target: Path) -> None:
    """A test file that raises its target's secrets, or names them in refused paths, leaves fixed words only."""
    secret = "sk-live-0123456789abcdefghijklmnopqrstuv"
    target.write_text(TARGET + f'\nAPI_KEY = "{secret}"\n', encoding="utf-8")
    chunks = "', '".join(secret[i : i + 8] for i in range(0, len(secret), 8))
    code = (
        "import target\n"
        "for part in ['" + chunks + "']:\n"
        "    try:\n        open('/' + part)\n    except OSError:\n        pass\n"
        "class Leak(Exception):\n    pass\n"
        "raise RuntimeError(target.API_KEY[:8] + ' ' + target.API_KEY[8:16])\n\ndef test_a():\n    pass\n"
    )
    result = run(target, code)
    assert result.collection_errors
    assert result.problems == ("refused: reading a file outside the run (5 times)", "collection error: RuntimeError")
    assert not any(secret[:8] in problem or secret[8:16] in problem for problem in result.problems)


@pytest.mark.parametrize(
    ("refusals", "errors", "problems"),
    [
        (("reading '/x'", "reading '/y'"), (), ("refused: reading a file outside the run (2 times)",)),
        (("os.remove on '/x'",), (), ("refused: changing a file outside the run",)),
        (("ctypes (ctypes.sk-live-0123)",), (), ("refused: native code (ctypes)",)),
        (("anything chosen by the test",), (), ("refused: something else the sandbox forbids",)),
        ((), ("E   ModuleNotFoundError: No module named 'x'",), ("collection error: ModuleNotFoundError",)),
        ((), ("E   SkLive0123Error: leaked",), ("collection error: an error",)),  # a class of the test's own
    ],
)
def test_problems_are_fixed_words(
    refusals: tuple[str, ...], errors: tuple[str, ...], problems: tuple[str, ...]
) -> None:
    """Refusals become their kind with a count, collection errors their built-in type; nothing else is said."""
    run_ = SandboxRun(refusals=refusals, refused_total=len(refusals), collection_errors=errors)
    assert run_.problems == problems


@pytest.mark.usefixtures("unknown_architecture")
def test_weaker_isolation_than_required_stops_before_anything_runs(target: Path) -> None:
    """Without the kernel filter, check() refuses with what is missing and what would give it."""
    sandbox = Sandbox()
    assert sandbox.missing_isolation() == ("sockets and new processes are refused by the kernel",)
    with pytest.raises(SandboxError, match=r"cannot be isolated.*refused by the kernel \(needs seccomp filter\)"):
        sandbox.check(target)


@pytest.mark.usefixtures("unknown_architecture")
def test_weak_isolation_allowed_is_reported_on_every_run(target: Path) -> None:
    """With require_isolation=False the run goes ahead, and says it was not isolated."""
    result = asyncio.run(Sandbox(require_isolation=False).run(target, GOOD))
    assert result.not_isolated == ("sockets and new processes are refused by the kernel",)
    assert "not isolated: sockets and new processes are refused by the kernel" in result.problems
    assert result.passed == 2


@pytest.mark.parametrize(
    ("taken", "named"),
    [
        ({"syscalls": None}, "sockets and new processes are refused by the kernel"),  # a requirement
        ({"view": None}, "private filesystem view"),  # the requirements still hold, but the probe found more
    ],
    ids=["filter", "view"],
)
def test_a_run_that_loses_a_layer_is_not_trusted(
    target: Path, monkeypatch: pytest.MonkeyPatch, taken: dict[str, Any], named: str
) -> None:
    """If a run gets less than the probe found on this machine, its result is not believed."""
    Sandbox().check()  # probed with every layer
    weaker = _isolation.base_spec
    monkeypatch.setattr(sandbox_module, "base_spec", lambda *args, **kwargs: {**weaker(*args, **kwargs), **taken})
    result = run(target, GOOD)
    assert result.crashed is not None
    assert result.crashed.startswith("not isolated as required")
    assert named in result.crashed
    assert result.tests == {}
    assert not result.trusted


def test_user_namespace_gives_the_same_isolation(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Started in a user namespace (as a normal user would be), the run gets the view, Landlock and the filter."""
    candidates = _isolation._candidates()
    monkeypatch.setattr(_isolation, "_candidates", lambda: [c for c in candidates if "--map-root-user" in c[0]])
    probe.cache_clear()
    try:
        result = run(target, GOOD)
        assert "private filesystem view" in result.isolation
        assert "unprivileged user" not in result.isolation
        assert "seccomp filter" in result.isolation
        assert {"user namespace", "process limit"} <= set(result.isolation)
        assert result.passed == 2
        assert run(target, SPAWN_WITHOUT_AUDIT).crashed is not None
    finally:
        probe.cache_clear()


def test_writing_more_than_the_disk_limit_fails(target: Path) -> None:
    """In the private view the work folder is a tmpfs of disk_mb: filling it fails there, not on the user's disk."""
    code = (
        "import errno\n\ndef test_fills():\n    try:\n        for n in range(8):\n"
        "            with open(f'big{n}', 'wb') as handle:\n                handle.write(bytes(8 << 20))\n"
        "    except OSError as exc:\n        assert exc.errno == errno.ENOSPC\n    else:\n"
        "        raise AssertionError('64 MiB fitted in 16')\n"
    )
    result = run(target, code, disk_mb=16)
    assert result.passed == 1, result.output


#: What an attacker prepends to turn the audit hook off (built from strings, so no static check sees it):
#: after this, only the kernel layers stand. The documented limit; the tests below show what still holds.
UNHOOK = """
def _unhook():
    g = __import__("g" + "c")
    for o in getattr(g, "get_" + "objects")():
        if type(o).__name__ == "function" and o.__name__ == "hook" and o.__module__ == "__main__":
            cells = dict(zip(getattr(o, "__co" + "de__").co_freevars, getattr(o, "__clo" + "sure__")))
            cells["refuse"].cell_contents = lambda what: None


_unhook()
ct = __import__("ctyp" + "es")
libc = ct.CDLL(None, use_errno=True)
"""


@pytest.mark.parametrize(
    "attack",
    [
        "libc.prctl(1, 0, 0, 0, 0)",  # PR_SET_PDEATHSIG: outlive the parent
        "__import__('os').setsid()",  # leave the process group the parent kills
        "libc.shmget(0x5EC0DE, ct.c_size_t(1 << 20), 0o1000 | 0o666)",  # System V memory outliving the run
        "libc.msgget(0x5EC0DE, 0o1000 | 0o666)",
        "__import__('os').memfd_create('m')",  # memory outside the address-space limit
    ],
    ids=["pdeathsig", "setsid", "shmget", "msgget", "memfd"],
)
def test_kernel_ends_runs_that_would_outlive_or_outgrow_their_limits(target: Path, attack: str) -> None:
    """With the audit hook turned off, escaping the kill or taking memory outside the limits still ends the run."""
    code = UNHOOK + f"\n\ndef test_attack():\n    {attack}\n    import time\n    time.sleep(60)\n"
    started = time.perf_counter()
    result = run(target, code, time_s=20)
    assert result.crashed is not None
    assert "SIGSYS" in result.crashed
    assert not result.trusted
    assert time.perf_counter() - started < 20


def test_a_process_that_leaves_its_group_is_still_killed(tmp_path: Path) -> None:
    """The parent kills the run's children found through /proc, not only its process group."""
    marker = tmp_path / "alive"
    code = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n    os.setsid()\n    time.sleep(0.5)\n"
        f"    open({str(marker)!r}, 'w').close()\n    time.sleep(60)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        time.sleep(0.2)
        children = sandbox_module._children(process.pid)
        assert len(children) == 1
        sandbox_module._kill_run(process.pid)
        process.wait(timeout=10)
        time.sleep(1)
        assert not marker.exists()
        assert not Path(f"/proc/{children[0]}").exists() or "Z" in Path(f"/proc/{children[0]}/stat").read_text()
    finally:
        process.kill()


def test_the_work_folder_holds_a_bounded_number_of_files(target: Path) -> None:
    """Empty files cannot grow kernel memory without bound: the work tmpfs has an inode limit."""
    code = (
        "import errno\n\ndef test_many():\n    try:\n        for n in range(20_000):\n"
        "            open(f'f{n}', 'w').close()\n    except OSError as exc:\n"
        "        assert exc.errno == errno.ENOSPC and n < 10_000\n    else:\n        raise AssertionError('no limit')\n"
    )
    result = run(target, code)
    assert result.passed == 1, result.output


@pytest.mark.parametrize(
    "payload",
    [
        '{"tests": [], "executed_lines": [], "missing_lines": [], "executed_branches": [], "missing_branches": [],'
        ' "collection_errors": []}',
        '{"tests": {}, "executed_lines": [1e400], "missing_lines": [], "executed_branches": [],'
        ' "missing_branches": [], "collection_errors": []}',
        "[" * 200_000,
        '{"tests": {"test_escalade_generated.py::test_a": 5}, "executed_lines": [], "missing_lines": [],'
        ' "executed_branches": [], "missing_branches": [], "collection_errors": []}',
        '{"tests": {}, "executed_lines": [true], "missing_lines": [], "executed_branches": [[1]],'
        ' "missing_branches": [], "collection_errors": []}',
    ],
    ids=["list-of-tests", "huge-float", "deep-nesting", "non-string-outcome", "odd-lines"],
)
def test_a_forged_result_of_the_wrong_shape_is_not_believed(tmp_path: Path, payload: str) -> None:
    """A signed result that is not the shape the child writes is 'cannot be read', never an exception."""
    (tmp_path / "output.txt").write_text("", encoding="utf-8")
    (tmp_path / "test.py").write_text("def test_a():\n    pass\n", encoding="utf-8")
    (tmp_path / "target.py").write_text(TARGET, encoding="utf-8")
    spec = {"token": "t", "test_file": str(tmp_path / "test.py"), "target": str(tmp_path / "target.py")}
    lines = ['ready {"layers": []}', f"result t {payload}"]
    result = read_result(
        lines, tmp_path, code=0, timed_out=False, started=time.perf_counter(), spec=spec, required=False,
        isolation=None,
    )  # fmt: skip
    assert result.crashed == "the run reported a result that cannot be read"
    assert not result.trusted


def test_an_editable_projects_folder_is_not_exposed_whole(target: Path) -> None:
    """sys.path folders outside the installation (this repository's src/, an editable install) show only Python."""
    repository = Path(sandbox_module.__file__).resolve().parents[3]
    code = (
        "import os\n\ndef test_project():\n"
        f"    assert not os.path.exists({str(repository / 'pyproject.toml')!r})\n"
        f"    assert not os.path.exists({str(repository / '.git')!r})\n"
        "    import escalade.exceptions\n    assert escalade.exceptions.EscaladeError\n"
    )
    result = run(target, code)
    assert result.passed == 1, result.output


def test_every_namespace_is_reported(target: Path) -> None:
    """The run's layers name the network, PID and IPC namespaces it was started in."""
    result = run(target, GOOD)
    assert {"network namespace", "PID namespace", "IPC namespace"} <= set(result.isolation)
