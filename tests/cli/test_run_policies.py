"""``escalade run`` with learned policies: fitted on other rows, read from artifacts, never on the decided rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from escalade.replay import Outcomes, load_dataset
from escalade.routing.learned import VerifierArtifact, fit_verifier, save_verifier
from tests.cli.helpers import invoke


def test_fit_on_another_split_routes_and_reports_where_from(shared_benchmarks: Path, tmp_path: Path) -> None:
    """The report keeps the premium baseline and savings and names the policy's fitting split."""
    code, out, err = invoke(
        "run", str(shared_benchmarks / "routerbench-arc"), "--split", "test", "--fit-on", "train", "--limit", "60",
        "--db", str(tmp_path / "e.db"),
    )  # fmt: skip
    assert code in (0, 1), err
    assert "Premium-only baseline" in out
    assert "Savings" in out
    assert "policy fitted on split 'train'" in out
    assert "never on the rows it decides" in out


def test_cross_fit_json(shared_benchmarks: Path, tmp_path: Path) -> None:
    """--cross-fit K decides every row with policies fitted on the other folds; JSON names the folds."""
    code, out, err = invoke(
        "run", str(shared_benchmarks / "routellm-gsm8k"), "--cross-fit", "2", "--limit", "120", "--json",
        "--db", str(tmp_path / "e.db"),
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["policy_source"] == "cross-fit"
    assert summary["policy_folds"] == 2
    assert summary["items_total"] == 120
    assert summary["premium_baseline_cost"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--split", "test", "--fit-on", "test"], "would fit the policy on the rows it decides"),
        (["--fit-on", "train", "--cross-fit", "3"], "not both"),
        (["--certify"], "need a policy to fit"),
        (["--fit-on", "train", "--scorer", "oracle"], "drop --provider and --scorer"),
    ],
)
def test_bad_policy_flags_are_one_line_errors(shared_benchmarks: Path, args: list[str], message: str) -> None:
    """Fitting on the decided rows, or mixing sources, is a clear error and exit 2."""
    code, _, err = invoke("run", str(shared_benchmarks / "routerbench-arc"), *args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_verifier_artifact_judges_the_cheap_answer(shared_benchmarks: Path, tmp_path: Path) -> None:
    """--verifier FILE: every item starts cheap and the artifact's threshold decides who climbs."""
    ds = load_dataset(shared_benchmarks / "routellm-gsm8k")
    train = Outcomes.from_rows(ds, ds.rows("all")[200:500])
    path = tmp_path / "v.json"
    save_verifier(VerifierArtifact(fit_verifier(train, train.models[0]), threshold=0.7), path)
    code, out, err = invoke(
        "run", str(shared_benchmarks / "routellm-gsm8k"), "--verifier", str(path), "--limit", "50", "--json",
        "--db", str(tmp_path / "e.db"),
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["policy"] == "verifier"
    assert summary["policy_source"] == "artifacts"
    assert summary["tiers"]["cheap"]["items"] == 50


def test_scorer_options_reach_the_plugin(make_dataset: object, tmp_path: Path) -> None:
    """--scorer self-consistency --scorer-option k=3: a replay without samples cannot corroborate, so items climb."""
    folder = make_dataset()  # type: ignore[operator]
    code, out, err = invoke(
        "run", str(folder), "--scorer", "self-consistency", "--scorer-option", "k=3", "--json",
        "--db", str(tmp_path / "e.db"),
    )  # fmt: skip
    assert code in (0, 1), err
    assert json.loads(out)["scorer"] == "self-consistency"
    code, _, err = invoke("run", str(folder), "--scorer", "self-consistency", "--scorer-option", "k")
    assert code == 2
    assert "KEY=VALUE" in err


def test_verifier_fit_then_show(shared_benchmarks: Path, tmp_path: Path) -> None:
    """`escalade verifier fit` saves an escalade-verifier/1 artifact with its out-of-fold operating point."""
    path = tmp_path / "v.json"
    dataset = str(shared_benchmarks / "routerbench-arc")
    code, _, err = invoke("verifier", "fit", dataset, "--out", str(path), "--target-quality", "0.9", "--json")
    assert code == 0, err
    code, out, err = invoke("verifier", "show", str(path), "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["metadata"]["split"] == "train"
    assert shown["metadata"]["target_quality"] == 0.9
    assert 0.0 <= shown["threshold"] <= 1.0
