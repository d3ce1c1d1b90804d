"""``escalade inbox`` and ``decide``'s inbox: escalated lines gain inbox_id; list, show, respond, wait,
and every error path with its message and exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import answers as _answers
from tests.cli.helpers import invoke
from tests.cli.helpers import json_lines as _lines

DEPLOY = {"id": "d1", "description": "Deploy the payment service to production", "affected_systems": ["payments"]}
TYPO = {"id": "d2", "description": "Fix a typo in the README", "environment": "development"}


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "escalade.db")


def _decide(db: str, *extra: str) -> list[dict[str, Any]]:
    code, out, err = invoke("decide", "--db", db, *extra, stdin=_lines(DEPLOY, TYPO))
    assert code == 0, err
    return _answers(out)


def test_escalated_lines_gain_their_inbox_id_and_the_rest_do_not(db: str) -> None:
    deploy, typo = _decide(db, "--assign", "ana")
    assert deploy["escalate"] is True
    assert len(deploy["inbox_id"]) == 16
    assert typo["escalate"] is False
    assert "inbox_id" not in typo
    code, out, _ = invoke("inbox", "list", "--db", db, "--json")
    assert code == 0
    [item] = json.loads(out)["items"]
    assert (item["id"], item["decision_id"], item["assignees"], item["state"]) == (
        deploy["inbox_id"],
        "d1",
        ["ana"],
        "pending",
    )


def test_no_inbox_keeps_the_answer_as_it_was(db: str) -> None:
    deploy, _ = _decide(db, "--no-inbox")
    assert "inbox_id" not in deploy
    assert invoke("inbox", "list", "--db", db)[1].strip() == "nothing waits for a person"


def test_list_show_respond_wait(db: str) -> None:
    _decide(db, "--assign", "ana")
    code, out, _ = invoke("inbox", "list", "--db", db, "--person", "bo")
    assert "nothing waits" in out  # it is ana's
    code, out, _ = invoke("inbox", "list", "--db", db, "--person", "ana")
    assert "high" in out
    assert "Deploy the payment service" in out
    code, out, _ = invoke("inbox", "show", "d1", "--db", db, "--format", "html")
    assert code == 0
    assert "<h3>Deployment</h3>" in out
    assert "<code>payments</code>" in out
    given = _lines(
        {"id": "d1", "action": "approve", "by": "bo"},
        {"id": "d1", "action": "modify", "by": "ana", "parameters": {"canary": "5%"}},
        {"id": "d1", "action": "approve", "by": "ana"},
        {"action": "approve", "by": "ana"},
        "not json",
    )
    code, out, _ = invoke("inbox", "respond", "--db", db, stdin=given)
    assert code == 1  # some lines failed; every line was answered
    results = _answers(out)
    assert "'bo' may not answer it" in results[0]["error"]
    assert results[1]["state"] == "answered"
    assert "answered already, by 'ana'" in results[2]["error"]
    assert "needs the item's 'id'" in results[3]["error"]
    assert results[4]["line"] == 5
    code, out, _ = invoke("inbox", "wait", "d1", "--db", db, "--timeout", "1")
    assert code == 0
    assert json.loads(out)["response"] == {"action": "modify", "by": "ana", "parameters": {"canary": "5%"}}
    code, out, _ = invoke("inbox", "list", "--db", db, "--all", "--json")
    assert [i["state"] for i in json.loads(out)["items"]] == ["answered"]


def test_wait_runs_out_with_exit_2(db: str) -> None:
    _decide(db)
    code, _, err = invoke("inbox", "wait", "d1", "--db", db, "--timeout", "0.2")
    assert code == 2
    assert "no answer to 'd1' within 0.2 s" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("inbox", "show", "nope"), "no inbox item or decision with this id"),
        (("inbox", "show", "d1", "--format", "pdf"), "--format must be one of text, markdown, html"),
        (("inbox", "show", "d1", "--templates", "/nonexistent"), "not a folder of templates"),
        (("inbox", "wait", "d1", "--timeout", "-1"), "timeout_s must be"),
        (("decide", "--inbox-ttl", "0"), "--inbox-ttl must be in"),
        (("decide", "--assign", " "), "--assign"),
    ],
)
def test_bad_input_is_a_clear_error(db: str, args: tuple[str, ...], message: str) -> None:
    _decide(db)
    code, _, err = invoke(*args, "--db", db, stdin="")
    assert code != 0
    assert message in err


def test_a_hostile_template_folder_is_refused_with_the_file(db: str, tmp_path: Path) -> None:
    _decide(db)
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "deployment.j2").write_text("{% include 'x' %}", encoding="utf-8")
    code, _, err = invoke("inbox", "show", "d1", "--db", db, "--templates", str(folder))
    assert code != 0
    assert "deployment.j2" in err
    assert "includes another file" in err


def test_stats_after_answers(db: str) -> None:
    """``inbox stats`` counts the answer, its response time and the override (modify of an approve)."""
    _decide(db)
    given = _lines({"id": "d1", "action": "reject", "by": "ana", "feedback": "not this week"})
    assert invoke("inbox", "respond", "--db", db, stdin=given)[0] == 0
    code, out, _ = invoke("inbox", "stats", "--db", db, "--json")
    assert code == 0
    stats = json.loads(out)
    assert (stats["answered"], stats["open"], stats["by_action"]) == (1, 0, {"reject": 1})
    assert stats["by_person"]["ana"]["interruptions"] == 1
    assert stats["mean_response_s"] >= 0
    code, out, _ = invoke("inbox", "stats", "--db", db)
    assert "batch_efficiency" in out
    assert "ana" in out
    assert "1 answered in 1 interruptions" in out
