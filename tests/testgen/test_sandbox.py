"""The sandbox: generated tests that delete, write, connect, spawn, hang or hog are stopped and reported."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from escalade.exceptions import ConfigError, SandboxError
from escalade.testgen.sandbox import Sandbox, SandboxLimits, SandboxRun

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
        "network access (socket.connect)",
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
    assert any("no_such_module" in p for p in result.problems)


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
