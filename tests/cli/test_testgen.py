"""``escalade testgen`` end to end: recorded and live answers, sandboxed runs, kept tests, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from escalade.cli.common import EXIT_ENVIRONMENT, EXIT_FAILED_RUN
from escalade.testgen import answer_code
from tests.cli.helpers import invoke
from tests.providers.wire import Body, serve

KEY = "sk-live-test-0123456789"

TARGET = '''"""A tiny module to write tests for."""


def double(x):
    """Twice x."""
    return 2 * x


def sign(x):
    """-1, 0 or 1."""
    if x < 0:
        return -1
    if x == 0:
        return 0
    return 1
'''

GOOD_DOUBLE = """```python
from tiny import double


def test_doubles_numbers():
    assert double(2) == 4
    assert double(-3) == -6


def test_doubles_text():
    assert double("ab") == "abab"
    assert double(0) == 0
```
# confidence: 0.9
"""

#: Passes half its tests, with an assertion that cannot fail: its CQS is below the cheap tier's 75.
WEAK_SIGN = """```python
from tiny import sign


def test_sign():
    sign(1)
    assert True


def test_sign_of_zero():
    assert sign(0) == 1
```
# confidence: 0.95
"""

GOOD_SIGN = """```python
import pytest
from tiny import sign


@pytest.mark.parametrize(("x", "expected"), [(-5, -1), (0, 0), (7, 1)])
def test_sign(x, expected):
    assert sign(x) == expected
    assert sign(3 * x) == expected
```
# confidence: 0.9
"""

#: What the live server answers to every request: good tests of both functions.
GOOD_BOTH = """```python
import pytest
from tiny import double, sign


def test_double():
    assert double(2) == 4
    assert double(-3) == -6


@pytest.mark.parametrize(("x", "expected"), [(-5, -1), (0, 0), (7, 1)])
def test_sign(x, expected):
    assert sign(x) == expected
    assert sign(3 * x) == expected
```
# confidence: 0.9
"""

LIVE_CONFIG = """
max_cost = 1.0
auto_approve_under = 1.0

[[tiers]]
name = "cheap"
models = ["gpt-4o-mini", "gpt-4.1-nano"]
min_attempts = 1
team_size = 1

[[tiers]]
name = "premium"
models = ["gpt-4o"]
team_size = 1
"""


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A module of two functions, `double` and `sign`, in a folder of its own."""
    folder = tmp_path / "project"
    folder.mkdir()
    path = folder / "tiny.py"
    path.write_text(TARGET, encoding="utf-8")
    return path


@pytest.fixture
def answers_file(tmp_path: Path) -> Path:
    """Recorded answers: `double` well tested by the cheap model; `sign` weakly by it, well by the capable one."""
    path = tmp_path / "answers.json"
    answers = {
        "format": "escalade-testgen-answers/1",
        "tiers": {"cheap": ["gpt-4o-mini"], "capable": ["gpt-4.1-mini"]},
        "answers": {
            "double": {"gpt-4o-mini": GOOD_DOUBLE},
            "sign": {"gpt-4o-mini": WEAK_SIGN, "gpt-4.1-mini": GOOD_SIGN},
        },
    }
    path.write_text(json.dumps(answers), encoding="utf-8")
    return path


def _pytest(folder: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Plain pytest on ``folder``, from another working folder."""
    cwd.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "pytest", str(folder), "-q", "-p", "no:cacheprovider"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_recorded_run_keeps_passing_tests_and_stores_the_run(
    target: Path, answers_file: Path, tmp_path: Path, db_url: str
) -> None:
    """One item stays cheap, the other climbs; the kept tests pass under plain pytest; show reads the run back."""
    out = tmp_path / "generated"
    code, stdout, err = invoke(
        "testgen", str(target), "--answers", str(answers_file), "--out", str(out), "--db", db_url, "--json"
    )
    assert code == 0, err
    data = json.loads(stdout)
    assert data["workflow"] == "test-gen"
    assert data["status"] == "completed"
    assert data["target_file"] == str(target.resolve())
    assert data["items_total"] == 2
    assert data["item_statuses"] == {"accepted": 2}
    assert data["escalation_rate"] == 0.5

    tiers = data["tiers"]
    assert set(tiers) == {"cheap", "capable"}  # the ladder the answers were recorded on
    assert (tiers["cheap"]["items"], tiers["cheap"]["final_items"], tiers["cheap"]["escalated"]) == (2, 1, 1)
    assert (tiers["capable"]["items"], tiers["capable"]["final_items"], tiers["capable"]["escalated"]) == (1, 1, 0)
    assert tiers["capable"]["mean_cqs"] >= 85
    assert data["total_cost"] == pytest.approx(tiers["cheap"]["cost_usd"] + tiers["capable"]["cost_usd"])
    assert data["total_cost"] > 0

    items = {item["item_id"]: item for item in data["items"]}
    assert (items["double"]["final_tier"], items["double"]["final_model"]) == ("cheap", "gpt-4o-mini")
    assert items["double"]["final_cqs"] >= 75
    assert (items["sign"]["final_tier"], items["sign"]["final_model"]) == ("capable", "gpt-4.1-mini")
    cheap_sign = items["sign"]["tiers"][0]
    assert cheap_sign["escalated"]
    assert all(a["cqs"] < 75 for a in cheap_sign["attempts"])

    kept = {k["item_id"]: k for k in data["kept"]}
    assert kept["double"] == {
        "item_id": "double",
        "tier": "cheap",
        "model": "gpt-4o-mini",
        "path": str(out / "test_tiny_double.py"),
        "kept": 2,
        "total": 2,
    }
    assert kept["sign"] == {
        "item_id": "sign",
        "tier": "capable",
        "model": "gpt-4.1-mini",
        "path": str(out / "test_tiny_sign.py"),
        "kept": 3,
        "total": 3,
    }
    assert sorted(p.name for p in out.iterdir()) == ["conftest.py", "test_tiny_double.py", "test_tiny_sign.py"]
    assert (out / "test_tiny_double.py").read_text(encoding="utf-8") == answer_code(GOOD_DOUBLE) + "\n"
    assert (out / "test_tiny_sign.py").read_text(encoding="utf-8") == answer_code(GOOD_SIGN) + "\n"  # not the weak one
    assert str(target.parent) in (out / "conftest.py").read_text(encoding="utf-8")

    proc = _pytest(out, tmp_path / "elsewhere")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "5 passed" in proc.stdout

    code, stdout, err = invoke("show", data["run_id"], "--json", "--db", db_url)
    assert code == 0, err
    shown = json.loads(stdout)
    assert (shown["run_id"], shown["workflow"], shown["status"]) == (data["run_id"], "test-gen", "completed")
    assert (shown["tests_kept"], shown["files_written"]) == (5, 2)
    assert shown["target_file"] == str(target.resolve())
    assert shown["total_cost"] == pytest.approx(data["total_cost"])


def _chat(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
    """Every request gets good tests of both functions, 1,000 prompt and 200 completion tokens."""
    usage = {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200}
    choice = {"index": 0, "message": {"role": "assistant", "content": GOOD_BOTH}, "finish_reason": "stop"}
    reply = {"id": "c", "object": "chat.completion", "created": 0, "model": body["model"], "choices": [choice]}
    return 200, {}, reply | {"usage": usage}


def test_live_openai_run(target: Path, tmp_path: Path, db_url: str) -> None:
    """--provider openai asks the server for each item, bills at real prices, and keeps the passing tests."""
    config = tmp_path / "escalade.toml"
    config.write_text(LIVE_CONFIG, encoding="utf-8")
    out = tmp_path / "generated"
    with serve(_chat) as (url, seen):
        code, stdout, err = invoke(
            "testgen", str(target), "--provider", "openai", "--base-url", url, "--config", str(config),
            "--out", str(out), "--db", db_url, "--json", env={"OPENAI_API_KEY": KEY},
        )  # fmt: skip
    assert code == 0, err
    data = json.loads(stdout)
    assert data["workflow"] == "test-gen"
    assert data["item_statuses"] == {"accepted": 2}
    assert len(seen) == 2  # one call per item: the cheap tier's first answer is good enough
    assert {r["headers"]["authorization"] for r in seen} == {f"Bearer {KEY}"}
    assert {r["path"] for r in seen} == {"/v1/chat/completions"}
    prompts = sorted(r["body"]["messages"][-1]["content"] for r in seen)
    assert "Write pytest tests for the function `double`" in prompts[0]
    assert "Write pytest tests for the function `sign`" in prompts[1]
    assert all("from tiny import" in p for p in prompts)
    prices = {"gpt-4o-mini": (0.15, 0.60), "gpt-4.1-nano": (0.10, 0.40)}
    models = [r["body"]["model"] for r in seen]
    assert set(models) <= set(prices)
    expected = sum(1000 * prices[m][0] + 200 * prices[m][1] for m in models) / 1e6
    assert data["total_cost"] == pytest.approx(expected)
    assert {(k["item_id"], k["tier"], k["kept"], k["total"]) for k in data["kept"]} == {
        ("double", "cheap", 4, 4),
        ("sign", "cheap", 4, 4),
    }
    assert KEY not in stdout + err
    proc = _pytest(out, tmp_path / "elsewhere")
    assert proc.returncode == 0, proc.stdout + proc.stderr


#: Passes, but tries to write outside its folder first: the sandbox refuses that, so the run is not trusted.
RISKY_DOUBLE = """```python
from tiny import double


def test_double():
    try:
        open("/nonexistent/escalade-was-here", "w")
    except OSError:
        pass
    assert double(2) == 4
```
# confidence: 0.9
"""


@pytest.mark.parametrize(
    ("double", "status", "expected_code", "kept", "untrusted"),
    [
        (RISKY_DOUBLE, "failed", EXIT_FAILED_RUN, [], 2),  # one per item: its model is not asked again on the tier
        (GOOD_DOUBLE, "partial", 0, ["double"], 1),
    ],
)
def test_untrusted_sandbox_runs_leave_items_unanswered(
    target: Path,
    tmp_path: Path,
    db_url: str,
    double: str,
    status: str,
    expected_code: int,
    kept: list[str],
    untrusted: int,
) -> None:
    """Tests that ran untrusted are failed attempts: failed (exit 1) when no item has an answer, else partial.

    ``--json``, the text report and ``escalade show`` count them alike, from the store's own rows.
    """
    answers = tmp_path / "risky.json"
    recorded = {"double": {"gpt-4o-mini": double}, "sign": {"gpt-4o-mini": RISKY_DOUBLE.replace("double", "sign")}}
    answers.write_text(
        json.dumps({"format": "escalade-testgen-answers/1", "tiers": {"cheap": ["gpt-4o-mini"]}, "answers": recorded}),
        encoding="utf-8",
    )
    out = tmp_path / "generated"
    args = ["testgen", str(target), "--answers", str(answers), "--db", db_url]
    code, stdout, err = invoke(*args, "--out", str(out), "--json")
    text_code, text, _ = invoke(*args, "--out", str(tmp_path / "again"))
    assert (code, text_code) == (expected_code, expected_code), err
    data = json.loads(stdout)
    assert data["status"] == status
    assert [k["item_id"] for k in data["kept"]] == kept
    assert data["item_statuses"].get("unanswered", 0) == 2 - len(kept)
    assert data["errors"] == {"untrusted sandbox run": untrusted}
    assert f"Errors: {untrusted} failed attempts: untrusted sandbox run {untrusted}" in text
    shown = json.loads(invoke("show", data["run_id"], "--db", db_url, "--json")[1])
    assert (shown["status"], shown["items_answered"], shown["untrusted_runs"]) == (status, len(kept), untrusted)
    assert shown["errors"] == data["errors"]


def test_testgen_where_every_call_fails_is_failed(target: Path, tmp_path: Path, db_url: str) -> None:
    """A live testgen run whose every call is refused (401) is failed, exits 1, and counts the errors by cause."""

    def refused(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
        return 401, {}, {"error": {"message": "bad key", "type": "invalid_request_error", "code": None, "param": None}}

    config = tmp_path / "escalade.toml"
    config.write_text(LIVE_CONFIG, encoding="utf-8")
    with serve(refused) as (url, _):
        code, stdout, err = invoke(
            "testgen", str(target), "--provider", "openai", "--base-url", url, "--config", str(config),
            "--out", str(tmp_path / "generated"), "--db", db_url, "--json", env={"OPENAI_API_KEY": KEY},
        )  # fmt: skip
    assert code == EXIT_FAILED_RUN
    assert "no item was answered (errors: authentication 6)" in err
    data = json.loads(stdout)
    assert (data["status"], data["errors"], data["kept"]) == ("failed", {"authentication": 6}, [])
    assert data["cost_savings_percent"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give either --answers FILE (recorded answers) or --provider openai|anthropic"),
        (
            ["--answers", "{answers}", "--provider", "openai"],
            "give either --answers FILE (recorded answers) or --provider openai|anthropic",
        ),
        (["--answers", "{answers}", "--concurrency", "0"], "--concurrency must be at least 1, got 0"),
        (
            ["--answers", "{answers}", "--time-limit", "0"],
            "field 'time_s': must be between 0 and 3600 seconds, got 0.0",
        ),
        (["--provider", "mistral"], "--provider must be recorded, openai or anthropic; got 'mistral'"),
        (
            ["--answers", "{answers}", "--base-url", "http://127.0.0.1:1/v1"],
            "--base-url go(es) with a live --provider (openai or anthropic), not with recorded",
        ),
        (["--answers", "{bad_answers}"], "{bad_answers}, field 'format': not a escalade-testgen-answers/1 file"),
        (["--answers", "{tmp}/absent.json"], "{tmp}/absent.json: no such file"),
    ],
)
def test_bad_options_are_one_error_line(
    target: Path, answers_file: Path, tmp_path: Path, db_url: str, args: list[str], message: str
) -> None:
    """Bad options or answers give one 'error:' line and exit code 2, before any test is generated."""
    bad_answers = tmp_path / "bad.json"
    bad_answers.write_text('{"format": "something-else", "answers": {}}', encoding="utf-8")
    values = {"answers": str(answers_file), "bad_answers": str(bad_answers), "tmp": str(tmp_path)}
    out = tmp_path / "generated"
    code, stdout, err = invoke(
        "testgen", str(target), *[a.format(**values) for a in args], "--out", str(out), "--db", db_url
    )
    assert code == 2
    assert err.strip().splitlines() == [f"error: {message.format(**values)}"]
    assert "Traceback" not in stdout + err
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("absent.py", None, "{path}: no such file"),
        ("broken.py", "def ok():\n    pass\n\n\ndef broken(:\n    pass\n", "{path}, line 5: not valid Python: "),
        ("notes.txt", "def f():\n    pass\n", "{path}: not a Python file (.py)"),
        ("private.py", "def _f():\n    pass\n", "{path}: no public top-level function or class"),
    ],
)
def test_bad_target_is_one_error_line(
    answers_file: Path, tmp_path: Path, db_url: str, name: str, content: str | None, message: str
) -> None:
    """A target that is missing, not Python or has nothing to test is one 'error:' line naming it, exit code 2."""
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    out = tmp_path / "generated"
    code, stdout, err = invoke("testgen", str(path), "--answers", str(answers_file), "--out", str(out), "--db", db_url)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {message.format(path=path)}")
    assert "Traceback" not in stdout + err
    assert not out.exists()


@pytest.mark.usefixtures("unknown_architecture")
def test_weak_sandbox_is_refused_before_anything_is_stored(
    target: Path, answers_file: Path, tmp_path: Path, db_url: str
) -> None:
    """Where generated tests cannot be isolated as required: one error line naming what is missing, no run stored."""
    out = tmp_path / "generated"
    code, stdout, err = invoke(
        "testgen", str(target), "--answers", str(answers_file), "--out", str(out), "--db", db_url
    )
    assert code == EXIT_ENVIRONMENT  # the environment, not the input
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: generated tests cannot be isolated on this machine: sockets and new processes")
    assert "--allow-weak-sandbox" in lines[0]
    assert "Traceback" not in stdout + err
    code, stdout, _ = invoke("list", "--json", "--db", db_url)
    assert code == 0
    assert json.loads(stdout) == []


@pytest.mark.usefixtures("unknown_architecture")
def test_weak_sandbox_allowed_says_so_in_the_run(target: Path, answers_file: Path, tmp_path: Path, db_url: str) -> None:
    """--allow-weak-sandbox runs anyway; the stored run's notes say it was not isolated as required."""
    out = tmp_path / "generated"
    code, stdout, err = invoke(
        "testgen", str(target), "--answers", str(answers_file), "--out", str(out), "--db", db_url, "--json",
        "--allow-weak-sandbox",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(stdout)
    assert any(n.startswith("sandbox NOT ISOLATED as required: sockets and new processes") for n in data["notes"])
    code, stdout, _ = invoke("show", data["run_id"], "--json", "--db", db_url)
    assert any("NOT ISOLATED" in n for n in json.loads(stdout)["notes"])
