"""``escalade decide``, ``outcome`` and ``audit``: JSON lines in and out, error lines, stats, calibration, audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.cli.helpers import answers as _answers
from tests.cli.helpers import invoke
from tests.cli.helpers import json_lines as _lines


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A fresh SQLite database file."""
    return str(tmp_path / "escalade.db")


SEED: list[tuple[dict[str, Any], bool]] = [
    ({"id": "deploy", "description": "Deploy release 4.2", "environment": "production"}, True),
    ({"id": "jwt", "description": "Rotate the JWT signing key"}, True),
    ({"id": "purge", "description": "Delete 25,000 user records", "involves_data_deletion": True,
      "record_count": 25000}, True),
    ({"id": "breaking", "description": "Rename a field of the public API", "breaking_change": True}, True),
    ({"id": "typo", "description": "Fix a typo in the README"}, False),
    ({"id": "css", "description": "Change the button colour in styles.css to green"}, False),
    ({"id": "rename", "description": "Rename a local variable in utils.py"}, False),
]  # fmt: skip


def _tamper(db: str, *statements: str) -> None:
    """Run ``statements`` on the database behind escalade's back, in one transaction."""
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def test_decide_answers_each_line(db: str) -> None:
    """One answer line per decision, with exactly the documented keys, in input order."""
    code, out, _ = invoke("decide", "--db", db, stdin=_lines(*(d for d, _ in SEED)))
    assert code == 0
    answers = _answers(out)
    assert [a["id"] for a in answers] == [d["id"] for d, _ in SEED]
    assert [a["escalate"] for a in answers] == [e for _, e in SEED]
    line = {"id", "escalate", "confidence", "priority", "type", "reasons", "rule_hits"}
    assert all(set(a) == line | ({"inbox_id"} if a["escalate"] else set()) for a in answers)
    assert answers[0]["rule_hits"] == ["production_deployment"]


def test_bad_lines_get_error_lines_and_processing_continues(db: str) -> None:
    """Invalid JSON, non-objects, bad fields and repeated ids each get an error line; good lines are still decided."""
    stdin = _lines(
        {"id": "ok1", "description": "Fix a typo"},
        "{not json",
        "[1, 2]",
        {"id": "bad", "description": "x", "colour": "red"},
        {"id": 5, "record_count": -1, "description": "x"},
        {"id": "ok1", "description": "Fix a typo again"},
        "",
        {"id": "ok2", "description": "Deploy to prod"},
    )
    code, out, err = invoke("decide", "--db", db, stdin=stdin)
    assert code == 0
    answers = _answers(out)
    assert [a.get("id") for a in answers] == ["ok1", None, None, "bad", 5, "ok1", "ok2"]
    errors = [a for a in answers if "error" in a]
    assert [a["line"] for a in errors] == [2, 3, 4, 5, 6]
    assert "not valid JSON" in errors[0]["error"]
    assert "JSON object" in errors[1]["error"]
    assert "field 'colour': unknown field" in errors[2]["error"]
    assert "field 'record_count'" in errors[3]["error"]
    assert "already decided" in errors[4]["error"]
    assert answers[-1]["escalate"] is True
    assert "5 line(s) could not be decided" in err
    code, out, _ = invoke("decide", "--stats", "--json", "--db", db)
    assert json.loads(out)["decisions"] == 2  # the good lines were stored, the bad ones left nothing


def test_details_show_everything(db: str) -> None:
    """--details answers with factors, threshold and classification."""
    _, out, _ = invoke("decide", "--details", "--db", db, stdin=_lines({"id": "a", "description": "Deploy to prod"}))
    answer = _answers(out)[0]
    assert set(answer["factors"]) == {"past_success_rate", "familiarity", "risk", "complexity"}
    assert answer["threshold"]["profile"] == 0.66
    assert answer["classification"]["environment"] == "production"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "yolo"], "unknown profile 'yolo'"),
        (["--target-rate", "2"], "--target-rate must be in [0, 1]"),
        (["--audit-rate", "-1"], "--audit-rate must be in [0, 1]"),
    ],
)
def test_bad_options_fail_clearly(db: str, args: list[str], message: str) -> None:
    """Bad options are one error line and exit code 2, before any decision is read."""
    code, out, err = invoke("decide", "--db", db, *args, stdin=_lines({"description": "x"}))
    assert code == 2
    assert out == ""
    assert message in err


def test_bad_rule_file_names_file_rule_and_reason(db: str, tmp_path: Path) -> None:
    """A broken rule file stops the command with its path, the rule and what is wrong."""
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "x"\nwhen = { field = "colour", op = "eq", value = 1 }\n', encoding="utf-8")
    code, _, err = invoke("decide", "--db", db, "--rules", str(rules), stdin=_lines({"description": "x"}))
    assert code == 2
    assert str(rules) in err
    assert "rule 'x'" in err
    assert "unknown field 'colour'" in err


def test_custom_rule_and_profile_files(db: str, tmp_path: Path) -> None:
    """--rules adds a rule and --profiles adds a profile that can be chosen."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - name: freeze\n    priority: high\n    reason: Release freeze\n"
        "    when: {field: type, op: eq, value: maintenance}\n",
        encoding="utf-8",
    )
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('[profiles.night]\nbase = "cautious"\nthresholds = { general = 0.99 }\n', encoding="utf-8")
    stdin = _lines({"id": "t", "description": "Fix a typo in the README"}, {"id": "g", "description": "Write notes"})
    code, out, _ = invoke("decide", "--db", db, "--rules", str(rules), "--profiles", str(profiles),
                          "--profile", "night", stdin=stdin)  # fmt: skip
    assert code == 0
    typo, notes = _answers(out)
    assert typo["rule_hits"] == ["freeze"]
    assert notes["escalate"] is True


def test_outcomes_are_recorded_and_learned(db: str) -> None:
    """Outcome lines get their verdict; unknown ids and bad lines get error lines."""
    invoke("decide", "--db", db, stdin=_lines({"id": "t", "description": "Fix a typo"}, {"id": "d",
           "description": "Deploy to prod"}))  # fmt: skip
    stdin = _lines(
        {"id": "t", "success": False},
        {"id": "d", "response": "approve", "response_time_s": 4},
        {"id": "zz", "success": True},
        {"id": "t", "success": True},
        {"id": "x"},
        {"id": "y", "response": "maybe"},
    )
    code, out, _ = invoke("outcome", "--db", db, stdin=stdin)
    assert code == 0
    answers = _answers(out)
    assert answers[0] == {"id": "t", "verdict": "missed", "label": True, "learned_offset": 0.05}
    assert answers[1]["verdict"] == "unnecessary"
    assert answers[1]["learned_offset"] is None  # a rule asked, not low confidence
    assert "no decision with this id" in answers[2]["error"]
    assert "already has an outcome" in answers[3]["error"]
    assert "needs success, response or should_have_escalated" in answers[4]["error"]
    assert "field 'response'" in answers[5]["error"]


def test_stats_text_and_json(db: str) -> None:
    """--stats prints rates, errors and offsets, as text or JSON."""
    invoke("decide", "--db", db, stdin=_lines(*(d for d, _ in SEED)))
    invoke("outcome", "--db", db, stdin=_lines({"id": "typo", "success": True}, {"id": "deploy", "response": "reject"}))
    code, out, _ = invoke("decide", "--stats", "--db", db)
    assert code == 0
    assert "decisions: 7   escalated: 4 = 57.1% (target 5.0%)" in out
    assert "by type:" in out
    _, out, _ = invoke("decide", "--stats", "--json", "--db", db)
    stats = json.loads(out)
    assert stats["escalated"] == 4
    assert stats["false_negative_rate"] == 0.0
    assert stats["by_type"]["deployment"]["rate"] == 1.0


def test_calibrate_from_a_labelled_file(db: str, tmp_path: Path) -> None:
    """--calibrate --labels certifies floors from labelled decisions and prints them."""
    labels = tmp_path / "labels.jsonl"
    rows = [{"description": f"Fix typo number {i} in the docs", "type": "maintenance", "needs_person": False}
            for i in range(80)]  # fmt: skip
    labels.write_text(_lines(*rows), encoding="utf-8")
    code, out, _ = invoke("decide", "--calibrate", "--labels", str(labels), "--alpha", "0.1", "--json", "--db", db)
    assert code == 0
    record = json.loads(out)
    assert record["floors"]["maintenance"] is not None
    assert record["floors"]["deployment"] is None
    assert record["labelled"]["maintenance"] == 80
    code, out, _ = invoke("decide", "--calibrate", "--labels", str(labels), "--db", db)
    assert "maintenance" in out
    assert "escalate all" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{oops\n", "line 1: not a JSON object"),
        ('{"description": "x"}\n', "line 1: needs_person must be true or false"),
        ('{"description": "x", "needs_person": true, "colour": 1}\n', "line 1: field 'colour'"),
    ],
)
def test_bad_label_file_is_refused(db: str, tmp_path: Path, content: str, message: str) -> None:
    """A bad labelled file names the file and line, and stores no calibration."""
    labels = tmp_path / "labels.jsonl"
    labels.write_text(content, encoding="utf-8")
    code, _, err = invoke("decide", "--calibrate", "--labels", str(labels), "--db", db)
    assert code == 2
    assert str(labels) in err
    assert message in err


def test_audit_verify_and_show(db: str) -> None:
    """An intact trail verifies and prints an anchor; show lists the entries."""
    invoke("decide", "--db", db, stdin=_lines(*(d for d, _ in SEED)))
    code, out, _ = invoke("audit", "verify", "--db", db)
    assert code == 0
    assert "audit trail intact: 7 entries" in out
    anchor = out.split("anchor: ")[1].split()[0]
    assert invoke("audit", "verify", "--anchor", anchor, "--db", db)[0] == 0
    code, out, _ = invoke("audit", "show", "--db", db, "--limit", "2")
    assert code == 0
    assert len(out.splitlines()) == 2
    assert "default/deploy  escalated" in out
    _, out, _ = invoke("audit", "show", "--json", "--db", db, "--after", "6")
    assert json.loads(out)["decision_id"] == "rename"


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE audit_entries SET body = replace(body, 'true', 'false') WHERE seq = 3", "broken at entry 3"),
        ("DELETE FROM audit_entries WHERE seq = 4", "broken at entry 5"),
        ("DELETE FROM audit_entries WHERE seq = 7", "the newest entries were removed"),
    ],
)
def test_audit_verify_names_the_first_bad_entry(db: str, statement: str, message: str) -> None:
    """Editing, removing or cutting entries makes verify exit 1 and name the first bad entry."""
    invoke("decide", "--db", db, stdin=_lines(*(d for d, _ in SEED)))
    _tamper(db, statement)
    code, _, err = invoke("audit", "verify", "--db", db)
    assert code == 1
    assert message in err


def test_audit_verify_checks_the_anchor(db: str) -> None:
    """A malformed anchor is a usage error; an anchor beyond a cut trail is reported."""
    invoke("decide", "--db", db, stdin=_lines({"id": "a", "description": "Fix a typo"}))
    code, _, err = invoke("audit", "verify", "--anchor", "nope", "--db", db)
    assert code == 2
    assert "--anchor must be SEQ:HASH" in err
    code, _, err = invoke("audit", "verify", "--anchor", f"9:{'a' * 64}", "--db", db)
    assert code == 1
    assert "anchor's entry 9 is gone" in err


def test_unreadable_lines_do_not_stop_the_run(db: str) -> None:
    """A too-long number, deep nesting, a NUL or a wrong type: an error line each, and the rest is decided."""
    stdin = "\n".join(
        [
            json.dumps({"id": "ok1", "description": "Fix a typo"}),
            '{"id": ' + "9" * 5000 + ', "description": "x"}',
            "[" * 100_000,
            json.dumps({"id": "nul\u0000", "description": "x"}),
            json.dumps({"id": "typed", "description": "x", "record_count": True}),
            json.dumps({"id": "ok2", "description": "Fix another typo"}),
        ]
    )
    code, out, _ = invoke("decide", "--db", db, stdin=stdin + "\n")
    assert code == 0
    answers = _answers(out)
    assert [a.get("line") for a in answers] == [None, 2, 3, 4, 5, None]
    assert "not readable JSON" in answers[1]["error"]
    assert "NUL" in answers[3]["error"]
    assert "record_count" in answers[4]["error"]
    assert answers[-1]["id"] == "ok2"


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--workspace", "w" * 101], "at most 100 characters"), (["--agent", ""], "agent")],
)
def test_names_are_checked_before_reading(db: str, args: list[str], message: str) -> None:
    """A workspace or agent name the store cannot hold stops the command before any line is read."""
    code, out, err = invoke("decide", *args, "--db", db, stdin=_lines({"id": "a", "description": "Fix a typo"}))
    assert code == 2
    assert message in err
    assert out == ""
    code, _, err = invoke("outcome", "--workspace", "w" * 101, "--db", db, stdin="")
    assert code == 2


def test_cut_outcome_entries_are_caught(db: str) -> None:
    """Cutting the newest entries (an outcome's) and moving the head back is caught by the outcome's reference."""
    invoke("decide", "--db", db, stdin=_lines({"id": "a", "description": "Fix a typo"}))
    invoke("outcome", "--db", db, stdin=_lines({"id": "a", "success": True}))
    _tamper(
        db,
        "DELETE FROM audit_entries WHERE seq = 2",
        "UPDATE audit_head SET seq = 1, hash = (SELECT hash FROM audit_entries WHERE seq = 1)",
    )
    code, _, err = invoke("audit", "verify", "--db", db)
    assert code == 1
    assert "refers to entry 2 but the trail ends at 1" in err


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET hash = 'é' WHERE seq = 1",
        "UPDATE audit_entries SET body = '[]' WHERE seq = 1",
        "UPDATE audit_entries SET body = '" + "[" * 50_000 + "' WHERE seq = 1",
    ],
)
def test_odd_tampering_is_reported_not_crashed_on(db: str, statement: str) -> None:
    """A non-hex hash or an unreadable body is reported as a broken entry; show still lists the trail."""
    invoke("decide", "--db", db, stdin=_lines({"id": "a", "description": "Fix a typo"}))
    _tamper(db, statement)
    code, _, err = invoke("audit", "verify", "--db", db)
    assert code == 1
    assert "broken at entry 1" in err
    code, out, _ = invoke("audit", "show", "--db", db)
    assert code == 0
    assert out.strip()


@pytest.fixture
def no_audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests set ESCALADE_AUDIT_KEY themselves; one from the environment must not leak in."""
    monkeypatch.delenv("ESCALADE_AUDIT_KEY", raising=False)


def test_ids_are_echoed_as_given(db: str) -> None:
    """An integer id comes back an integer, a string id a string, in answers and error lines alike."""
    stdin = _lines({"id": 5, "description": "Fix a typo"}, {"id": 6, "colour": 1}, {"id": "7", "description": "x"})
    _, out, _ = invoke("decide", "--db", db, stdin=stdin)
    assert [a["id"] for a in _answers(out)] == [5, 6, "7"]
    assert "error" in _answers(out)[1]
    _, out, _ = invoke("outcome", "--db", db, stdin=_lines({"id": 5, "success": True}, {"id": 99, "success": True}))
    answers = _answers(out)
    assert [a["id"] for a in answers] == [5, 99]
    assert answers[0]["verdict"] == "correct"
    assert "no decision with this id" in answers[1]["error"]


def test_help_keeps_bracketed_text() -> None:
    """The help of --profiles shows ``[profiles.NAME]`` (not eaten as Rich markup)."""
    code, out, _ = invoke("decide", "--help")
    assert code == 0
    assert "[profiles.NAME]" in out


def test_calibrate_without_labels_refuses_and_stores_nothing(db: str) -> None:
    """--calibrate on a workspace with no labels says how many it needs, exits 2 and leaves decisions alone."""
    code, out, err = invoke("decide", "--calibrate", "--db", db)
    assert code == 2
    assert out == ""
    assert "needs at least 49 labelled decisions of one type (there are none; 0 in all); nothing was stored" in err
    assert "no calibrations in workspace 'default'" in invoke("decide", "--calibrations", "--db", db)[1]
    _, out, _ = invoke("decide", "--db", db, stdin=_lines({"id": "t", "description": "Fix a typo in the README"}))
    assert _answers(out)[0]["escalate"] is False
    assert invoke("audit", "verify", "--db", db)[1].startswith("audit trail intact: 1 entries")


def test_calibrations_are_listed_and_removed(db: str, tmp_path: Path) -> None:
    """--calibrations lists them, the one in force first; --remove-calibration removes one and says what is in force."""
    labels = tmp_path / "labels.jsonl"
    rows = [{"description": f"Fix typo number {i} in the docs", "needs_person": False} for i in range(80)]
    labels.write_text(_lines(*rows), encoding="utf-8")
    ids = [json.loads(invoke("decide", "--calibrate", "--labels", str(labels), "--alpha", alpha, "--json",
                             "--db", db)[1])["id"] for alpha in ("0.1", "0.2")]  # fmt: skip
    code, out, _ = invoke("decide", "--calibrations", "--db", db)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ids[::-1]
    assert out.splitlines()[0].endswith("(in force)")
    assert "escalates every decision of 9 type(s)" in out
    code, out, _ = invoke("decide", "--remove-calibration", ids[1], "--db", db)
    assert (code, out.strip()) == (0, f"removed calibration {ids[1]}: calibration {ids[0]} is in force now")
    _, out, _ = invoke("decide", "--remove-calibration", ids[0], "--json", "--db", db)
    assert json.loads(out)["in_force"] is None
    listed = json.loads(invoke("decide", "--calibrations", "--json", "--db", db)[1])
    assert listed == {"workspace": "default", "calibrations": []}
    assert invoke("audit", "verify", "--db", db)[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--remove-calibration", "nope"], "no calibration with id 'nope' in workspace 'default'"),
        (["--remove-calibration", "nope", "--workspace", "w2"], "in workspace 'w2'"),
        (["--calibrate", "--stats"], "use one of --stats, --calibrate, not several at once"),
        (["--calibrations", "--remove-calibration", "x"], "use one of --calibrations, --remove-calibration"),
    ],
)
def test_calibration_commands_fail_clearly(db: str, args: list[str], message: str) -> None:
    """An unknown calibration or conflicting modes are one error line, exit 2, and change nothing."""
    code, out, err = invoke("decide", *args, "--db", db)
    assert (code, out) == (2, "")
    assert message in err
    assert invoke("audit", "verify", "--json", "--db", db)[1].startswith('{"ok": true, "entries": 0')


@pytest.mark.parametrize(
    "args",
    [
        ["--target-rate", "2"],
        ["--audit-rate", "-1"],
        ["--stats", "--calibrations"],
        ["--calibrate", "--remove-calibration", "x"],
        ["--workspace", "w" * 101],
    ],
)
def test_bad_options_are_refused_before_the_store_is_opened(db: str, args: list[str]) -> None:
    """A bad rate, two modes at once or an unstorable name exit 2 before the database is even created."""
    assert invoke("decide", *args, "--db", db, stdin="")[0] == 2
    assert not Path(db).exists()
    assert invoke("decide", "--stats", "--db", db)[0] == 0
    assert Path(db).exists()


@pytest.mark.usefixtures("no_audit_key")
def test_audit_key_set_on_an_existing_trail(db: str) -> None:
    """A key set later verifies the mixed trail; a missing or wrong key is said so (exit 2), and drops are refused."""
    invoke("decide", "--db", db, stdin=_lines({"id": "a", "description": "Fix a typo"}))
    invoke(
        "decide",
        "--db",
        db,
        stdin=_lines({"id": "b", "description": "Fix a typo"}),
        env={"ESCALADE_AUDIT_KEY": "k1"},
    )
    code, out, _ = invoke("audit", "verify", "--db", db, env={"ESCALADE_AUDIT_KEY": "k1"})
    assert code == 0
    assert "entries 1-1 sealed with SHA-256 only (written before the key was set), 2-2 with HMAC-SHA256" in out
    code, _, err = invoke("audit", "verify", "--db", db)
    assert code == 2
    assert "cannot be verified at entry 2 (decision 'b'): it is sealed with HMAC-SHA256" in err
    assert "set ESCALADE_AUDIT_KEY" in err
    code, _, err = invoke("audit", "verify", "--db", db, env={"ESCALADE_AUDIT_KEY": "k2"})
    assert code == 2
    assert "ESCALADE_AUDIT_KEY is another key" in err
    assert "edited" not in err
    code, out, err = invoke("decide", "--db", db, stdin=_lines({"id": "c", "description": "Fix a typo"}))
    assert (code, out) == (2, "")
    assert "the audit trail is sealed with HMAC-SHA256" in err
    assert json.loads(invoke("decide", "--stats", "--json", "--db", db)[1])["decisions"] == 2


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE autonomy_decisions SET escalated = 1 WHERE decision_id = 'typo'",
         "decision 'typo' in workspace 'default': the table holds escalated = true, but its audit entry 5 recorded"
         " false"),
        ("UPDATE autonomy_decisions SET label = 0 WHERE decision_id = 'deploy'",
         "the outcome of decision 'deploy' in workspace 'default': the table holds label = false"),
    ],
)  # fmt: skip
def test_audit_verify_checks_the_decisions_table(db: str, statement: str, message: str) -> None:
    """An edit of the decisions table itself (which stats and calibration read) fails verify, naming row and field."""
    invoke("decide", "--db", db, stdin=_lines(*(d for d, _ in SEED)))
    invoke("outcome", "--db", db, stdin=_lines({"id": "deploy", "response": "reject"}))
    _tamper(db, statement)
    code, _, err = invoke("audit", "verify", "--db", db)
    assert code == 1
    assert message in err


def test_oversized_rule_file_is_one_error_line(db: str, tmp_path: Path) -> None:
    """A rule file over the size limit stops decide at once with one line naming the file, its size and the limit."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n" + "  - {name: r, when: {field: type, op: eq, value: fix}}\n" * 25_000, encoding="utf-8")
    code, out, err = invoke("decide", "--db", db, "--rules", str(rules), stdin=_lines({"description": "x"}))
    assert (code, out) == (2, "")
    assert err.strip() == (
        f"error: {rules}: the rule file is {rules.stat().st_size:,} bytes, over the limit of 1,048,576 bytes (1 MiB):"
        " split or trim it"
    )
