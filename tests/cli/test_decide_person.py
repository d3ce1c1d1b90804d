"""``escalade decide --person NAME``: that person's learned preferences may approve an escalation
(``auto_approved_by`` and the reason), escalated decisions wait for them, and a bad name is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from escalade.store import SqlStore
from tests.cli.helpers import answers, invoke, json_lines
from tests.inbox.items import STAGING, answered

DECISION = {"id": "d1", "description": STAGING, "affected_systems": ["search"]}


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "escalade.db")


def _approved_by_ana(db: str, count: int) -> None:
    """``count`` of ana's approvals of staging deployments, the newest a day old."""
    now = datetime.now(UTC)
    with SqlStore(db) as store:
        for i in range(count):
            store.inbox.add_item(answered(age_days=1 + i / 24, now=now, workspace="default"))


def _decide_as_ana(db: str) -> dict[str, Any]:
    """The answer line of :data:`DECISION` decided with ana's preferences (the supervised profile)."""
    code, out, err = invoke(
        "decide", "--db", db, "--profile", "supervised", "--person", "ana", stdin=json_lines(DECISION)
    )
    assert code == 0, err
    [line] = answers(out)
    return line


def test_a_learned_preference_approves_and_says_on_what_evidence(db: str) -> None:
    _approved_by_ana(db, 80)
    line = _decide_as_ana(db)
    assert (line["escalate"], line["auto_approved_by"]) == (False, "ana")
    assert "inbox_id" not in line
    assert line["reasons"][-1].startswith("auto-approved on ana's learned preference: 80 of 80 similar answers")
    assert "(type deployment, environment staging)" in line["reasons"][-1]


def test_without_enough_evidence_it_waits_for_the_person(db: str) -> None:
    _approved_by_ana(db, 40)
    line = _decide_as_ana(db)
    assert line["escalate"] is True
    assert "auto_approved_by" not in line
    code, out, _ = invoke("inbox", "list", "--db", db, "--json")
    assert code == 0
    [item] = [i for i in json.loads(out)["items"] if i["decision_id"] == "d1"]
    assert item["assignees"] == ["ana"]  # --person is who is asked, unless --assign says otherwise


def test_a_forced_decision_is_never_approved_on_a_preference(db: str) -> None:
    _approved_by_ana(db, 200)
    forced = {"id": "p1", "description": "Deploy the search service to production", "affected_systems": ["search"]}
    code, out, err = invoke("decide", "--db", db, "--person", "ana", stdin=json_lines(forced))
    assert code == 0, err
    [line] = answers(out)
    assert line["escalate"] is True
    assert "production_deployment" in line["rule_hits"]
    assert "auto_approved_by" not in line


@pytest.mark.parametrize("name", ["", "x" * 101, "a\tb"])
def test_a_bad_person_name_is_refused_before_anything_is_read(db: str, name: str) -> None:
    code, out, err = invoke("decide", "--db", db, "--person", name, stdin=json_lines(DECISION))
    assert code == 2  # bad input
    assert out == ""
    assert "--person must be 1 to 100 printable characters" in err
