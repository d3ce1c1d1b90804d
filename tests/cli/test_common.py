"""The CLI's error handling: one exit-code scheme, a last-resort handler, ``--debug``."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from escalade.cli import app, common
from escalade.cli.common import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_FAILED_RUN, EXIT_INTERRUPTED, exit_code
from escalade.exceptions import (
    ApprovalDeniedError,
    BudgetExceededError,
    BudgetUnavailableError,
    ConfigError,
    DatabaseError,
    DatasetError,
    ListenerError,
    RunNotFoundError,
    SandboxError,
    StoreError,
    TransientProviderError,
)
from escalade.store import SqlStore, _engine
from tests.cli.helpers import invoke, runner
from tests.cli.test_live import CONFIG as LIVE_CONFIG
from tests.cli.test_live import KEY
from tests.conftest import MakeDataset, row
from tests.providers.wire import Body, serve

UNEXPECTED = re.compile(r"^error: unexpected (\w+): (.*) \(run with --debug for the traceback\)$")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("bad"), EXIT_BAD_INPUT),
        (DatasetError("bad"), EXIT_BAD_INPUT),
        (RunNotFoundError("r"), EXIT_BAD_INPUT),
        (StoreError("limit must be at least 1"), EXIT_BAD_INPUT),
        (BudgetExceededError("over"), EXIT_FAILED_RUN),
        (ApprovalDeniedError("no"), EXIT_FAILED_RUN),
        (DatabaseError("database is locked", database="sqlite:///x.db"), EXIT_ENVIRONMENT),
        (ListenerError("SqlStore.on_attempt failed"), EXIT_ENVIRONMENT),
        (BudgetUnavailableError("ledger down"), EXIT_ENVIRONMENT),
        (SandboxError("no sandbox"), EXIT_ENVIRONMENT),
        (TransientProviderError("connection refused"), EXIT_ENVIRONMENT),
        (OSError(28, "No space left on device"), EXIT_ENVIRONMENT),
        (MemoryError(), EXIT_ENVIRONMENT),
        (KeyboardInterrupt(), EXIT_INTERRUPTED),
        (asyncio.CancelledError(), EXIT_INTERRUPTED),  # SIGTERM cancels the run's task
        (ZeroDivisionError("float division by zero"), EXIT_FAILED_RUN),
    ],
)
def test_exit_code_by_class_of_error(error: BaseException, code: int) -> None:
    """Each class of error has one exit code: bad input 2, environment 3, a stopped run 1, Ctrl-C 130."""
    assert exit_code(error) == code


def _explode(error: BaseException) -> Any:
    def raise_it(*args: object, **kwargs: object) -> None:
        raise error

    return raise_it


@pytest.mark.parametrize(
    ("error", "code", "name", "message"),
    [
        (MemoryError(), EXIT_ENVIRONMENT, "MemoryError", "out of memory"),
        (ZeroDivisionError("float division by zero"), EXIT_FAILED_RUN, "ZeroDivisionError", "float division by zero"),
        (RuntimeError("two\nlines"), EXIT_FAILED_RUN, "RuntimeError", "two lines"),
    ],
)
def test_unexpected_error_is_one_line(
    make_dataset: MakeDataset,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    code: int,
    name: str,
    message: str,
) -> None:
    """An error from outside escalade's tree is one line naming its type, with a hint about --debug."""
    monkeypatch.setattr("escalade.replay.load_dataset", _explode(error))
    got, out, err = invoke("eval", str(make_dataset()))
    assert got == code
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    match = UNEXPECTED.match(lines[0])
    assert match is not None, lines[0]
    assert match.groups() == (name, message)
    assert "Traceback" not in out + err


@pytest.mark.parametrize(("args", "env"), [(["--debug"], None), ([], {"ESCALADE_DEBUG": "1"})])
def test_debug_shows_the_traceback(
    make_dataset: MakeDataset, monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str] | None
) -> None:
    """With --debug (or ESCALADE_DEBUG=1) an unexpected error propagates with its traceback."""
    monkeypatch.setattr("escalade.replay.load_dataset", _explode(ZeroDivisionError("boom")))
    result = runner.invoke(app, [*args, "eval", str(make_dataset())], env=env)
    assert isinstance(result.exception, ZeroDivisionError)
    assert "error: unexpected" not in result.stderr


def test_debug_flag_does_not_stick(make_dataset: MakeDataset, monkeypatch: pytest.MonkeyPatch) -> None:
    """--debug applies to its own invocation only: the next one is back to one line."""
    monkeypatch.setattr("escalade.replay.load_dataset", _explode(ZeroDivisionError("boom")))
    assert isinstance(runner.invoke(app, ["--debug", "eval", str(make_dataset())]).exception, ZeroDivisionError)
    code, _, err = invoke("eval", str(make_dataset()))
    assert code == EXIT_FAILED_RUN
    assert UNEXPECTED.match(err.strip())


def test_interrupt_outside_a_run_exits_130(make_dataset: MakeDataset, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in a command (here while eval loads its dataset) is one line and the interrupt's exit code."""
    monkeypatch.setattr("escalade.replay.load_dataset", _explode(KeyboardInterrupt()))
    code, out, err = invoke("eval", str(make_dataset()))
    assert (code, err.strip()) == (exit_code(KeyboardInterrupt()), "error: interrupted")
    assert code == EXIT_INTERRUPTED
    assert "Traceback" not in out + err


def _plain(text: str) -> str:
    """Table text without markup or line breaks: ``code``, `code` and runs of spaces read alike."""
    return " ".join(text.replace("``", "").replace("`", "").split())


def _docstring_codes() -> dict[int, str]:
    """The exit codes table of ``escalade.cli.common``'s docstring: code to meaning."""
    doc = common.__doc__ or ""
    rows: dict[int, str] = {}
    last = 0
    for line in doc.split("meaning\n", 1)[1].splitlines():
        if line.startswith("===="):
            continue
        code, name, meaning = line[:6].strip(), line[6:28].strip(), line[28:]
        if code:
            last = int(code)
            assert getattr(common, name.strip("`")) == last, name
        rows[last] = f"{rows.get(last, '')} {meaning}"
    return {code: _plain(meaning) for code, meaning in rows.items()}


def test_readme_and_docstring_give_the_same_exit_codes() -> None:
    """The README's "Exit codes" table and the CLI's docstring table say the same, code for code."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("- Exit codes, the same for every command:", 1)[1].split("\n\n", 2)[1]
    rows = [line.strip().strip("|").split("|") for line in table.splitlines()[2:]]
    documented = {int(code): _plain(meaning) for code, meaning in rows}
    assert documented == _docstring_codes()
    assert set(documented) == {0, EXIT_FAILED_RUN, EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_INTERRUPTED}


def test_escalade_debug_is_not_a_config_typo(make_dataset: MakeDataset, db_url: str) -> None:
    """ESCALADE_DEBUG is read by the CLI, so the config loader does not reject it as an unknown setting."""
    code, _, err = invoke("run", str(make_dataset()), "--db", db_url, env={"ESCALADE_DEBUG": "1"})
    assert code == 0, err


TWO_MODELS = {
    "small-a": {"input_usd_per_mtok": 0.1, "output_usd_per_mtok": 0.1},
    "big": {"input_usd_per_mtok": 10.0, "output_usd_per_mtok": 30.0},
}


def _rows(count: int) -> list[dict[str, Any]]:
    answers: dict[str, tuple[float, float, str | None]] = {"small-a": (1.0, 0.001, "A" * 500), "big": (1.0, 0.1, "A")}
    return [row(f"q{i}", "Q" * 500, answers) for i in range(count)]


def _full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new connection may not grow the database file: SQLite's own 'database or disk is full'."""

    def pragmas(dbapi_connection: Any, record: Any) -> None:
        original(dbapi_connection, record)
        dbapi_connection.execute("PRAGMA max_page_count = 1")  # clamps to the current size

    original = _engine._sqlite_pragmas
    monkeypatch.setattr(_engine, "_sqlite_pragmas", pragmas)


@pytest.mark.parametrize("failure", ["disk full", "read-only"])
def test_disk_full_and_read_only_share_one_exit_code(
    make_dataset: MakeDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """A full disk (mid-run) and a read-only database (at the start) both exit 3, naming the database."""
    path = tmp_path / "runs.db"
    SqlStore(str(path)).close()
    url = str(path)
    if failure == "disk full":
        _full_disk(monkeypatch)
    else:
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    code, _, err = invoke("run", str(make_dataset(_rows(300), models=TWO_MODELS)), "--db", url, "--concurrency", "1")
    assert code == EXIT_ENVIRONMENT, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ")
    assert ("disk is full" if failure == "disk full" else "readonly database") in last
    assert str(path) in last


def _surrogate_for_q2(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
    """Answers A, except for Q2: a text with a lone surrogate, which no database can store."""
    text = "The answer is \ud800" if "Q2" in body["messages"][-1]["content"] else "The answer is A"
    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    usage = {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105}
    return (
        200,
        {},
        {
            "id": "c",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [choice],
            "usage": usage,
        },
    )


def test_live_answer_the_store_refuses_fails_the_run(make_dataset: MakeDataset, db_url: str, tmp_path: Path) -> None:
    """A paid live answer the database refuses stops the run: exit 3, run stored failed naming the item."""
    config = tmp_path / "escalade.toml"
    config.write_text(LIVE_CONFIG, encoding="utf-8")
    with serve(_surrogate_for_q2) as (url, _):
        code, _, err = invoke(
            "run", str(make_dataset()), "--provider", "openai", "--base-url", url, "--config", str(config),
            "--db", db_url, "--concurrency", "1", env={"OPENAI_API_KEY": KEY},
        )  # fmt: skip
    assert code == EXIT_ENVIRONMENT, err
    assert re.search(r"^error: .*database sqlite:///.*, run live-\S+, item 'q2': .*surrogate", err, re.MULTILINE), err
    (run,) = SqlStore(db_url).list_runs()
    assert run.status == "failed"
    assert any("item 'q2'" in warning for warning in run.warnings)
    assert run.items_worked >= 1  # q1, answered and paid for before, is kept


DEEP = "[" * 100_000 + "]" * 100_000


def _dataset(folder: Path, rows: list[str], *, task_kind: str = "multiple-choice", manifest: str | None = None) -> str:
    folder.mkdir()
    splits = {"test": {"file": "test.jsonl", "rows": len(rows)}}
    doc = {
        "format": "escalade-benchmark/1",
        "name": "d",
        "task_kind": task_kind,
        "models": TWO_MODELS,
        "splits": splits,
    }
    (folder / "manifest.json").write_text(manifest if manifest is not None else json.dumps(doc))
    (folder / "test.jsonl").write_text("".join(line + "\n" for line in rows))
    return str(folder)


def _row(row_id: str = "q1", prompt: str = "Q?", **outcome: object) -> str:
    answers: dict[str, tuple[float, float, str | None]] = {"small-a": (1.0, 0.001, "A"), "big": (1.0, 0.1, "A")}
    data = row(row_id, prompt, answers)
    data["outputs"]["small-a"].update(outcome)
    return json.dumps(data)


def _artifact(path: Path, **change: Any) -> str:
    """A minimal valid router artifact with ``change`` applied (``analyzer_*`` keys go into the analyzer)."""
    doc: dict[str, Any] = {
        "format": "escalade-router/1", "metadata": {}, "cheap": "small-a", "premium": "big", "cutoff": 0.1,
        "beta": 0.0, "analyzer": {"ngram_range": [1, 2], "token_pattern": r"(?u)\b\w\w+\b", "lowercase": True},
        "intercepts": {"premium": 0.0, "cheap": 0.0},
        "costs": {m: {"slope": 0.0, "intercept": 0.001, "floor": 0.0} for m in ("premium", "cheap")},
        "terms": [["login", 1.0, 0.5, -0.5]],
    }  # fmt: skip
    for key, value in change.items():
        if key.startswith("analyzer_"):
            doc["analyzer"][key.removeprefix("analyzer_")] = value
        else:
            doc[key] = value
    path.write_text(json.dumps(doc))
    return str(path)


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def _run_in(folder: Path) -> list[str]:
    """``escalade run`` on the database ``runs.db`` of ``folder``."""
    return ["run", "--db", str(folder / "runs.db")]


HOSTILE: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "NUL in a prompt": (
        lambda d: [*_run_in(d), _dataset(d / "ds", [_row(), _row("q2", "bad\x00prompt")])],
        r"test\.jsonl, line 2, field 'prompt': contains a NUL character",
    ),
    "lone surrogate in a response": (
        lambda d: [*_run_in(d), _dataset(d / "ds", [_row(), _row("q2", response="A\ud800")])],
        r"test\.jsonl, line 2, field 'outputs\.small-a\.response': contains a lone surrogate",
    ),
    "id of 301 characters": (
        lambda d: [*_run_in(d), _dataset(d / "ds", [_row(), _row("x" * 301)])],
        r"test\.jsonl, line 2, field 'id': is 301 characters long; the store keeps at most 300",
    ),
    "task kind typo": (
        lambda d: [*_run_in(d), _dataset(d / "ds", [_row()], task_kind="multiple_choice")],
        r"manifest\.json, field 'task_kind': unknown task kind 'multiple_choice' \(did you mean 'multiple-choice'\?\)",
    ),
    "deeply nested row": (
        lambda d: [*_run_in(d), _dataset(d / "ds", [_row()[:-1] + ', "x": ' + DEEP + "}"])],
        r"test\.jsonl, line 1: nested too deeply",
    ),
    "deeply nested manifest": (
        lambda d: [*_run_in(d), _dataset(d / "ds", [_row()], manifest='{"x": ' + DEEP + "}")],
        r"manifest\.json: nested too deeply",
    ),
    "5,000-digit integer in a manifest": (
        lambda d: [*_run_in(d), _dataset(d / "ds", [_row()], manifest='{"x": ' + "1" * 5000 + "}")],
        r"manifest\.json: holds an integer of more than 4,300 digits",
    ),
    "samples that are not a list": (
        lambda d: [*_run_in(d), _dataset(d / "ds", [_row(samples=5)])],
        r"line 1, field 'outputs\.small-a\.samples': must be a list of sampled answers, got int",
    ),
    "deeply nested config": (
        lambda d: [*_run_in(d), _dataset(d / "ds", [_row()]), "--config", _write(d / "c.toml", "a = " + DEEP)],
        r"c\.toml: nested too deeply",
    ),
    "eval without premium outcomes": (
        lambda d: ["eval", _dataset(d / "ds", [json.dumps({"id": "q1", "prompt": "p", "outputs": {}})])],
        r"split 'test' of d: the premium model 'big' has no recorded outcome on any row",
    ),
    "catastrophic token pattern": (
        lambda d: ["route", "a" * 40, "--router", _artifact(d / "r.json", analyzer_token_pattern="(a+)+b")],
        r"r\.json, field 'analyzer\.token_pattern': 'token_pattern' '\(a\+\)\+b' is not one of the token patterns",
    ),
    "n-grams of 100,000 tokens": (
        lambda d: ["route", "x", "--router", _artifact(d / "r.json", analyzer_ngram_range=[1, 100_000])],
        r"r\.json, field 'analyzer\.ngram_range': 'ngram_range' counts n-grams of at most 3 tokens",
    ),
    "integer too large for a float": (
        lambda d: ["router", "show", _artifact(d / "r.json", cutoff=10**400)],
        r"r\.json, field 'cutoff': 'cutoff' must be finite and at most 1e\+15 in size",
    ),
    "deeply nested trigger file": (
        lambda d: ["route", "x", "--triggers", _write(d / "t.toml", "disable = " + DEEP)],
        r"t\.toml: .*nested too deeply",
    ),
    "deeply nested answers file": (
        lambda d: ["testgen", _write(d / "t.py", "def f():\n    return 1\n"), "--answers", _write(d / "a.json", DEEP)],
        r"a\.json: nested too deeply",
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_input_is_one_line(tmp_path: Path, case: str) -> None:
    """Each input that used to crash a run part-way or print a traceback is one error line, exit 2, nothing stored."""
    build, pattern = HOSTILE[case]
    db = tmp_path / "runs.db"
    code, out, err = invoke(*build(tmp_path))
    assert code == EXIT_BAD_INPUT, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in out + err
    if db.exists():
        assert SqlStore(str(db)).list_runs() == []
