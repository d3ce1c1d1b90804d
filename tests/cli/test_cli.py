"""The CLI end to end: run, list, show, analytics, cleanup, and one-line errors with non-zero exits."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from escalade.cli import app
from escalade.cli.common import EXIT_ENVIRONMENT, EXIT_FAILED_RUN
from escalade.store import AttemptRow, SqlStore
from tests.conftest import TINY_ROWS, MakeDataset, row

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str) -> dict[str, object]:
    code, out, err = invoke("run", *args, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def notes_of(data: dict[str, object]) -> list[str]:
    """The notes of a run's JSON."""
    notes = data["notes"]
    assert isinstance(notes, list)
    return [str(n) for n in notes]


def test_run_show_analytics_on_tiny_dataset(make_dataset: MakeDataset, db_url: str) -> None:
    """run --json reports the required figures; show and analytics read the stored run back."""
    data = run_json(str(make_dataset()), "--db", db_url, "--yes")
    for key in (
        "run_id",
        "accuracy",
        "total_cost",
        "premium_baseline_cost",
        "cost_savings",
        "cost_savings_percent",
        "escalation_rate",
        "tiers",
    ):
        assert key in data
    tiers = data["tiers"]
    assert isinstance(tiers, dict)
    # q1 stays cheap; q2 and q4 (one cheap opinion, then corroborated by mid) stop at capable; q3 reaches premium
    assert [tiers[t]["final_items"] for t in ("cheap", "capable", "premium")] == [1, 2, 1]
    assert data["accuracy"] == 1.0
    assert data["premium_baseline_cost"] == pytest.approx(0.4)
    assert data["total_cost"] == pytest.approx(0.003 + 0.013 + 0.113 + 0.011)
    run_id = str(data["run_id"])

    code, out, _ = invoke("show", run_id, "--db", db_url, "--json")
    shown = json.loads(out)
    assert code == 0
    assert shown["status"] == "completed"
    assert shown["accuracy"] == 1.0
    assert shown["total_cost"] == pytest.approx(data["total_cost"])
    assert shown["tiers"]["premium"]["final_items"] == 1

    code, out, _ = invoke("show", run_id, "--db", db_url)
    assert code == 0
    assert f"Run {run_id}" in out
    assert "Premium-only baseline" in out

    code, out, _ = invoke("analytics", "--db", db_url, "--json")
    stats = json.loads(out)
    assert stats["total_runs"] == 1
    assert stats["total_cost"] == pytest.approx(data["total_cost"])
    assert stats["workflow_stats"]["replay"]["runs"] == 1
    code, out, _ = invoke("analytics", "--db", db_url)
    assert code == 0
    assert "Routing and cascade runs (the totals): 1 run(s)" in out

    code, out, _ = invoke("list", "--db", db_url)
    assert code == 0
    assert run_id in out
    code, out, _ = invoke("list", "--db", db_url, "--json")
    assert [r["run_id"] for r in json.loads(out)] == [run_id]


def test_text_report_and_oracle_label(make_dataset: MakeDataset, db_url: str) -> None:
    """The text report shows tiers and savings; the oracle scorer is labelled as offline."""
    code, out, _ = invoke("run", str(make_dataset()), "--db", db_url, "--yes")
    assert code == 0
    assert "Savings:" in out
    assert "cheap" in out
    assert "note: tiers from list prices" in out
    code, out, _ = invoke("run", str(make_dataset()), "--db", db_url, "--yes", "--scorer", "oracle")
    assert code == 0
    assert "OFFLINE scorer 'oracle'" in out


@pytest.mark.parametrize(("scorer", "advice"), [("consensus", True), ("oracle", False)])
def test_no_response_text_note_fits_the_scorer(
    make_dataset: MakeDataset, db_url: str, scorer: str, advice: bool
) -> None:
    """Without response text, the note suggests --scorer oracle only to a run that did not use it, stored alike."""
    rows = [
        row("q1", "Q1?", {"small-a": (1, 0.001, None), "big": (1, 0.1, None)}),
        row("q2", "Q2?", {"small-a": (0, 0.001, None), "big": (1, 0.1, None)}),
    ]
    data = run_json(str(make_dataset(rows)), "--db", db_url, "--yes", "--scorer", scorer)
    notes = [n for n in notes_of(data) if "records no response text" in n]
    assert len(notes) == 1
    assert ("use --scorer oracle" in notes[0]) is advice
    if not advice:
        assert "this run's offline scorer reads the recorded grades" in notes[0]
    shown = json.loads(invoke("show", str(data["run_id"]), "--db", db_url, "--json")[1])
    assert shown["notes"] == data["notes"]


def test_config_file_maps_tiers(make_dataset: MakeDataset, db_url: str, tmp_path: Path) -> None:
    """Tier models from --config are used instead of the price mapping."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[[tiers]]\nname = "cheap"\nmodels = ["mid"]\nmin_attempts = 1\n[[tiers]]\nname = "premium"\nmodels = ["big"]\n'
    )
    data = run_json(str(make_dataset()), "--db", db_url, "--yes", "--config", str(cfg))
    tiers = data["tiers"]
    assert isinstance(tiers, dict)
    assert set(tiers) == {"cheap", "premium"}


def test_limit_and_split(make_dataset: MakeDataset, db_url: str) -> None:
    """--limit runs the first N rows of --split."""
    data = run_json(str(make_dataset()), "--db", db_url, "--yes", "--limit", "2", "--split", "test")
    assert data["items_total"] == 2


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["run", "{missing}"], "dataset folder not found"),
        (["run", "{ds}", "--split", "train"], "no split 'train'"),
        (["run", "{ds}", "--config", "{badcfg}"], r"c\.toml, field 'max_cost'"),
        (["run", "{ds}", "--config", "{missing}.toml"], "config file not found"),
        (["run", "{ds}", "--scorer", "magic"], "unknown scorer 'magic'; available: consensus, self-consistency"),
        (["run", "{ds}", "--limit", "0"], "field 'limit'"),
        (["run", "{ds}", "--config", "{unknown_model}"], r"tiers\.cheap\.models.*not in dataset"),
        (["run", "{ds}", "--config", "{partial}"], r"tier\(s\) premium name no models"),
        (["run", "{ds}", "--concurrency", "0"], "--concurrency must be at least 1"),
        (["run", "{not_utf8}"], r"manifest\.json: manifest is not UTF-8 text"),
        (["run", "{split_dir}"], r"test\.jsonl: cannot read split file"),
        (["show", "nope"], "no stored run with id 'nope'"),
        (["list", "--limit", "0"], "limit must be at least 1"),
        (["cleanup", "--retention-days", "-1"], "--retention-days must be >= 0"),
    ],
)
def test_errors_are_one_line(
    args: list[str], pattern: str, make_dataset: MakeDataset, db_url: str, tmp_path: Path
) -> None:
    """Bad input gives one 'error:' line on stderr and exit code 2, never a traceback."""
    bad = tmp_path / "c.toml"
    bad.write_text("max_cost = -5\n")
    unknown = tmp_path / "u.toml"
    unknown.write_text('[[tiers]]\nname = "cheap"\nmodels = ["gpt-9"]\n')
    partial = tmp_path / "p.toml"
    partial.write_text('[[tiers]]\nname = "cheap"\nmodels = ["small-a"]\n[[tiers]]\nname = "premium"\n')
    not_utf8 = tmp_path / "latin"
    not_utf8.mkdir()
    (not_utf8 / "manifest.json").write_bytes(b'{"name": "caf\xe9"}')
    split_dir = make_dataset(name="dirsplit")
    (split_dir / "test.jsonl").unlink()
    (split_dir / "test.jsonl").mkdir()
    values = {
        "missing": str(tmp_path / "absent"),
        "ds": str(make_dataset()),
        "badcfg": str(bad),
        "unknown_model": str(unknown),
        "partial": str(partial),
        "not_utf8": str(not_utf8),
        "split_dir": str(split_dir),
    }
    code, out, err = invoke(*[a.format(**values) for a in args], "--db", db_url)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in out + err


def _stamped_unknown_revision(path: Path) -> str:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    conn.execute("INSERT INTO alembic_version VALUES ('9999_future')")
    conn.commit()
    conn.close()
    return str(path)


def _junk_file(path: Path) -> str:
    path.write_text("this is not sqlite " * 100)
    return str(path)


@pytest.mark.parametrize(
    ("make_db", "pattern"),
    [
        (lambda p: _junk_file(p / "junk.db"), "database sqlite:///.*junk.db: cannot open or migrate it: file is not a"),
        (lambda p: _stamped_unknown_revision(p / "future.db"), "database .*future.db: cannot open .*9999_future"),
        (lambda p: "/dev/null/sub/x.db", "database sqlite:////dev/null/sub/x.db: cannot create its folder"),
    ],
)
def test_bad_database_is_one_line(tmp_path: Path, make_db: Callable[[Path], str], pattern: str) -> None:
    """A file that is not a database, one from a newer escalade, or an unusable path: one line, exit 3."""
    code, _, err = invoke("list", "--db", make_db(tmp_path))
    assert code == EXIT_ENVIRONMENT
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.match(f"error: {pattern}", lines[0]), lines[0]


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["run", "x", "--limit", "abc"], "error: Invalid value for '--limit'"),
        (["show"], "error: Missing argument 'run_id'"),
        (["cleanup"], "error: Missing option '--retention-days'"),
        (["frobnicate"], "error: No such command 'frobnicate'"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], pattern: str) -> None:
    """The installed entry point reports usage errors as one line with exit code 2."""
    proc = subprocess.run([sys.executable, "-m", "escalade.cli", *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith(pattern)


def test_partial_mapping_from_environment(make_dataset: MakeDataset, db_url: str) -> None:
    """Naming models for one tier in the environment, and none for the others, is a clear error."""
    result = runner.invoke(app, ["run", str(make_dataset()), "--db", db_url], env={"ESCALADE_CHEAP_MODELS": "small-a"})
    assert result.exit_code == 2
    assert "tier(s) capable, premium name no models" in result.stderr


def test_budget_abort_exits_nonzero_and_keeps_partial_run(make_dataset: MakeDataset, db_url: str) -> None:
    """A run stopped by max_cost prints its partial report, exits 1, and is stored as aborted."""
    env = {"ESCALADE_MAX_COST": "0.05"}
    result = runner.invoke(
        app, ["run", str(make_dataset()), "--db", db_url, "--yes", "--json", "--concurrency", "1"], env=env
    )
    assert result.exit_code == 1
    assert "budget exceeded" in result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "aborted"
    assert data["total_cost"] <= 0.05
    stored = SqlStore(db_url).get_run(data["run_id"])
    assert stored.status == "aborted"
    assert stored.total_cost == pytest.approx(data["total_cost"])


def test_aborted_run_header_counts_worked_items(make_dataset: MakeDataset, db_url: str) -> None:
    """An aborted run says how many items it worked of how many, and its rates are over those, fresh and stored."""
    env = {"ESCALADE_MAX_COST": "0.05"}
    args = ["run", str(make_dataset()), "--db", db_url, "--yes", "--concurrency", "1"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1
    header = result.stdout.splitlines()[1]
    assert re.fullmatch(r"Items: (\d) of 4 worked \((\d) not run\), \d answered", header), header
    worked = int(header.split()[1])
    run_id = SqlStore(db_url).list_runs()[0].run_id
    shown = invoke("show", run_id, "--db", db_url)[1]
    assert shown.splitlines()[1] == header
    assert f"of {worked} worked" in shown.splitlines()[2]
    assert shown.splitlines()[2] == result.stdout.splitlines()[2]


NO_OUTCOME = row("q9", "Q9?", {"mid": (1, 0.01, "A")})  # no outcome of small-a or big
TWO_TIERS = '[[tiers]]\nname = "cheap"\nmodels = ["small-a"]\n[[tiers]]\nname = "premium"\nmodels = ["big"]\n'


@pytest.mark.parametrize(
    ("rows", "status", "code", "missing"),
    [
        ([NO_OUTCOME], "failed", EXIT_FAILED_RUN, 2),  # q9: small-a, then big
        ([TINY_ROWS[0], NO_OUTCOME], "partial", 0, 3),  # and q1's second cheap attempt: a replay cannot resample
    ],
)
def test_replay_without_outcomes_is_failed_or_partial(
    make_dataset: MakeDataset,
    db_url: str,
    tmp_path: Path,
    rows: list[dict[str, object]],
    status: str,
    code: int,
    missing: int,
) -> None:
    """A replay with no recorded outcome of the ladder for an item leaves it unanswered: failed or partial."""
    cfg = tmp_path / "two.toml"
    cfg.write_text(TWO_TIERS)
    result = runner.invoke(app, ["run", str(make_dataset(rows)), "--db", db_url, "--config", str(cfg), "--json"])
    assert result.exit_code == code, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == status
    assert data["errors"] == {"missing outcome": missing}
    answered = [r for r in rows if r is not NO_OUTCOME]
    assert data["premium_baseline_cost"] == pytest.approx(sum(0.1 for _ in answered))
    assert SqlStore(db_url).get_run(str(data["run_id"])).status == status


def test_approval_needed_without_yes_when_not_interactive(make_dataset: MakeDataset, db_url: str) -> None:
    """Without --yes and without a terminal, spending above auto_approve_under is refused with advice."""
    result = runner.invoke(
        app, ["run", str(make_dataset()), "--db", db_url], env={"ESCALADE_AUTO_APPROVE_UNDER": "0.01"}
    )
    assert result.exit_code == 1
    assert "rerun with --yes" in result.stderr
    assert "not approved" in result.stderr


@pytest.mark.parametrize(("answer", "code"), [("y\n", 0), ("n\n", 1)])
def test_interactive_approval_prompt(
    make_dataset: MakeDataset, db_url: str, monkeypatch: pytest.MonkeyPatch, answer: str, code: int
) -> None:
    """At a terminal, crossing auto_approve_under asks once; yes continues, no stops the run."""
    monkeypatch.setattr("escalade.cli.running.interactive", lambda: True)
    result = runner.invoke(
        app, ["run", str(make_dataset()), "--db", db_url], input=answer, env={"ESCALADE_AUTO_APPROVE_UNDER": "0.12"}
    )
    assert result.exit_code == code, result.stderr
    assert result.stderr.count("Continue?") == 1
    status = SqlStore(db_url).list_runs()[0].status
    assert status == ("completed" if code == 0 else "aborted")


def test_interactive_prompt_for_a_single_costly_call(
    make_dataset: MakeDataset, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a terminal, a call that alone could pass auto_approve_under is asked about; no stops the run."""
    monkeypatch.setattr("escalade.cli.running.interactive", lambda: True)
    result = runner.invoke(
        app, ["run", str(make_dataset()), "--db", db_url], input="n\n", env={"ESCALADE_AUTO_APPROVE_UNDER": "0.05"}
    )
    assert result.exit_code == 1
    assert "call for item" in result.stderr
    assert "Send it?" in result.stderr


def test_cleanup_dry_run_and_delete(make_dataset: MakeDataset, db_url: str) -> None:
    """cleanup --dry-run reports without deleting; retention 0 then deletes the run."""
    run_json(str(make_dataset()), "--db", db_url, "--yes")
    code, out, _ = invoke("cleanup", "--retention-days", "0", "--dry-run", "--db", db_url)
    assert code == 0
    assert out.startswith("Would delete 1 run(s)")
    assert len(SqlStore(db_url).list_runs()) == 1
    code, out, _ = invoke("cleanup", "--retention-days", "0", "--db", db_url, "--json")
    assert code == 0
    assert json.loads(out)["runs"] == 1
    assert SqlStore(db_url).list_runs() == []


def test_arc_main_job(shared_benchmarks: Path, db_url: str) -> None:
    """The README's main job: routerbench-arc test with no API key; show and analytics see the run."""
    data = run_json(str(shared_benchmarks / "routerbench-arc"), "--split", "test", "--db", db_url, "--yes")
    assert data["items_total"] == 445
    assert data["premium_baseline_cost"] == pytest.approx(2.2251, abs=1e-4)  # as the README's table says
    assert any("6 of 445 rows have no recorded outcome" in n for n in notes_of(data))
    assert 0.0 < float(data["accuracy"]) <= 1.0  # type: ignore[arg-type]
    assert float(data["total_cost"]) < float(data["premium_baseline_cost"])  # type: ignore[arg-type]
    assert data["cost_savings_percent"] == pytest.approx(
        100 * float(data["cost_savings"]) / float(data["premium_baseline_cost"])  # type: ignore[arg-type]
    )
    code, out, _ = invoke("show", str(data["run_id"]), "--db", db_url, "--json")
    assert code == 0
    assert json.loads(out)["accuracy"] == data["accuracy"]
    code, out, _ = invoke("analytics", "--db", db_url, "--json")
    assert json.loads(out)["total_runs"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_cli_run_keeps_finished_work(shared_benchmarks: Path, db_url: str, signum: int) -> None:
    """Ctrl-C (SIGINT) or SIGTERM mid-run: exit 130, run marked interrupted, finished attempts kept."""
    cmd = [  # Ctrl-C as a terminal gives it, even when these tests run in a background job (which ignores SIGINT)
        sys.executable,
        "-c",
        "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "runpy.run_module('escalade.cli', run_name='__main__', alter_sys=True)",
        "run",
        str(shared_benchmarks / "routellm-mmlu"),
        "--db",
        db_url,
        "--yes",
        "--concurrency",
        "1",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "ESCALADE_MAX_COST": "none"}
    )
    store = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if Path(db_url.removeprefix("sqlite:///")).exists():
            store = store or SqlStore(db_url)
            with store.session() as s:
                if (s.scalar(select(func.count()).select_from(AttemptRow)) or 0) >= 20:
                    break
        time.sleep(0.1)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().startswith("error: interrupted: run ")
    assert len(err.strip().splitlines()) == 1, err
    assert store is not None
    runs = store.list_runs()
    assert len(runs) == 1
    assert runs[0].status == "interrupted"
    assert runs[0].metrics["dataset"] == "routellm-mmlu"  # set-up is stored when the run starts
    with store.session() as s:
        assert (s.scalar(select(func.count()).select_from(AttemptRow)) or 0) >= 20
    assert runs[0].total_cost > 0
