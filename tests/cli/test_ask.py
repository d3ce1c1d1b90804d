"""``escalade ask``: one prompt through the pipeline, over a recorded row (no key) or a live wire server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from escalade.store import SqlStore
from tests.cli.helpers import invoke
from tests.conftest import MakeDataset
from tests.pipeline.wire_script import KEY, MODELS, scripted


def test_ask_over_a_recorded_row_prints_the_answer_and_trace(make_dataset: MakeDataset, db_url: str) -> None:
    """No key: the row's recorded answers, its prompt by default, and a trace of tiers, models and cost."""
    code, out, err = invoke("ask", "--replay", str(make_dataset()), "--row", "q2", "--tier", "cheap", "--db", db_url)
    assert code == 0, err
    assert "tier: cheap → " in out
    assert "small-a, small-b" in out
    assert "cost: $" in out
    assert "escalated cheap → " in out
    (run,) = SqlStore(db_url).list_runs()
    assert run.workflow == "generate"


def test_ask_json_with_the_oracle_scorer(make_dataset: MakeDataset, db_url: str) -> None:
    """--json prints the whole result; the oracle reads the row's grade, so q1's right cheap answer is kept."""
    code, out, err = invoke(
        "ask", "--replay", str(make_dataset()), "--row", "q1", "--scorer", "oracle", "--json", "--db", db_url
    )
    assert code == 0, err
    data = json.loads(out)
    assert (data["text"], data["tier_ended"], data["models_tried"]) == ("A", "cheap", ["small-a"])
    assert data["routing"]["reasons"]


def test_ask_live_against_a_wire_server(db_url: str, tmp_path: Path) -> None:
    """--provider openai --base-url: a real adapter call, with the file shown to the model."""
    source = tmp_path / "notes.txt"
    source.write_text("the team is five people", encoding="utf-8")
    with scripted("openai", {}) as server:
        url = server.provider._client.base_url  # type: ignore[attr-defined]
        code, out, err = invoke(
            "ask", "Say hello to the team", "--provider", "openai", "--base-url", str(url), "--file", str(source),
            "--tier", "cheap", "--db", db_url, env={"OPENAI_API_KEY": KEY},
        )  # fmt: skip
    assert code == 0, err
    assert out.startswith("good answer")
    assert f"tried: {', '.join(MODELS['openai']['cheap'])}" in out  # the default cheap tier asks two models
    assert "the team is five people" in json.dumps(server.seen[0]["body"]["messages"])


def test_ask_needs_a_provider_or_a_replay() -> None:
    """Neither (or both) is one clear error line."""
    code, _, err = invoke("ask", "hi")
    assert code == 2
    assert "give --provider openai|anthropic" in err


def test_ask_replay_needs_a_row(make_dataset: MakeDataset) -> None:
    """--replay without --row, or --row without --replay, says what is missing."""
    code, _, err = invoke("ask", "--replay", str(make_dataset()))
    assert (code, "needs --row" in err) == (2, True)
    code, _, err = invoke("ask", "--provider", "openai", "--row", "q1")
    assert (code, "--row goes with --replay" in err) == (2, True)


def test_ask_unknown_row_and_missing_file(make_dataset: MakeDataset, tmp_path: Path) -> None:
    """An unknown row names the dataset and its splits; a missing file is named."""
    code, _, err = invoke("ask", "--replay", str(make_dataset()), "--row", "nope")
    assert code == 2
    assert "no row 'nope'" in err
    code, _, err = invoke("ask", "x", "--replay", str(make_dataset()), "--row", "q1", "--file", str(tmp_path / "no"))
    assert code == 2
    assert "file not found" in err


def test_ask_bad_tier_and_max_tokens(make_dataset: MakeDataset) -> None:
    """An unknown tier and a cap below 1 are one-line errors."""
    code, _, err = invoke("ask", "--replay", str(make_dataset()), "--row", "q1", "--tier", "gold")
    assert code != 0
    assert "no tier named 'gold'" in err
    code, _, err = invoke("ask", "--replay", str(make_dataset()), "--row", "q1", "--max-tokens", "0")
    assert (code, "--max-tokens must be at least 1" in err) == (2, True)


def test_ask_with_a_router_artifact(make_dataset: MakeDataset, tmp_path: Path) -> None:
    """--router FILE routes with a learned router; a file that is not one is a clear error."""
    bad = tmp_path / "router.json"
    bad.write_text("{}", encoding="utf-8")
    code, _, err = invoke("ask", "--replay", str(make_dataset()), "--row", "q1", "--router", str(bad))
    assert code != 0
    assert "router.json" in err


def test_ask_with_a_policy_fitted_on_another_split(shared_benchmarks: Path, db_url: str) -> None:
    """--fit-on train decides one test row as `escalade run` would, and the trace says where the policy came from."""
    code, out, err = invoke(
        "ask", "--replay", str(shared_benchmarks / "routerbench-arc"), "--row", "arc-challenge.test.1",
        "--fit-on", "train", "--json", "--db", db_url,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["tier_started"] in ("cheap", "premium")
    (reason,) = [r for r in data["routing"]["reasons"] if "learned policy" in r]
    assert "fitted on split 'train'" in reason
    assert "never on the rows it decides" in reason


def test_ask_with_a_router_artifact_decides_the_start(shared_benchmarks: Path, db_url: str, tmp_path: Path) -> None:
    """A fitted escalade-router/1 file routes the replayed row through the learned policy's two tiers."""
    artifact = tmp_path / "router.json"
    code, _, err = invoke("router", "fit", str(shared_benchmarks / "routerbench-arc"), "--out", str(artifact))
    assert code == 0, err
    code, out, err = invoke(
        "ask", "--replay", str(shared_benchmarks / "routerbench-arc"), "--row", "arc-challenge.test.1",
        "--router", str(artifact), "--json", "--db", db_url,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert any("learned policy" in r and str(artifact) in r for r in data["routing"]["reasons"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fit-on", "test"], "would fit the policy on the rows it decides"),
        (["--fit-on", "train", "--scorer", "consensus"], "--scorer and a learned policy"),
        (["--fit-on", "train", "--cross-fit", "3"], "not both"),
    ],
)
def test_bad_policy_options_are_one_line_errors(shared_benchmarks: Path, args: list[str], message: str) -> None:
    code, _, err = invoke(
        "ask", "--replay", str(shared_benchmarks / "routerbench-arc"), "--row", "arc-challenge.test.1", *args
    )
    assert code == 2
    assert message in err


def test_fitting_needs_a_replay() -> None:
    code, _, err = invoke("ask", "hi", "--provider", "openai", "--fit-on", "train")
    assert code == 2
    assert "--fit-on/--cross-fit fit on a recorded dataset" in err


def test_scorer_and_verifier_are_one_judge(tmp_path: Path) -> None:
    code, _, err = invoke("ask", "hi", "--provider", "openai", "--verifier", str(tmp_path / "v.json"), "--scorer", "x")
    assert code == 2
    assert "--scorer and --verifier both judge" in err
