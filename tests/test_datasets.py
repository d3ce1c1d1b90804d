"""Loading escalade-benchmark/1 folders: valid data loads, malformed data names file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from escalade.datasets import load_dataset
from escalade.exceptions import DatasetError
from tests.conftest import MakeDataset, row


def test_valid_folder_loads(make_dataset: MakeDataset) -> None:
    """Manifest fields, prices and rows are read; missing outcomes stay missing."""
    ds = load_dataset(make_dataset())
    assert ds.name == "tiny"
    assert ds.task_kind == "multiple-choice"
    assert ds.models_by_price() == ["small-a", "small-b", "mid", "big"]
    rows = ds.rows("test")
    assert [r.id for r in rows] == ["q1", "q2", "q3", "q4"]
    assert "small-b" not in rows[3].outputs
    assert rows[0].outputs["big"].cost_usd == 0.1
    assert ds.default_split() == "test"


def test_repeated_ids_get_unique_keys(make_dataset: MakeDataset) -> None:
    """A repeated row id (one task split over two records) loads with a unique key."""
    rows = [row("x", "p", {"small-a": (1, 0.1, "A")}), row("x", "p", {"big": (1, 0.1, "A")})]
    loaded = load_dataset(make_dataset(rows)).rows("test")
    assert [r.key for r in loaded] == ["x", "x#2"]


def test_samples_are_read(make_dataset: MakeDataset) -> None:
    """Optional samples are parsed."""
    r = row("s", "p", {"small-a": (1, 0.1, "A")})
    r["outputs"]["small-a"]["samples"] = [{"response": "B", "answer": "B", "cost_usd": 0.05}]
    loaded = load_dataset(make_dataset([r])).rows("test")
    assert loaded[0].outputs["small-a"].samples[0].response == "B"


def _write(folder: Path, manifest: object, lines: list[str] | None = None) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    if lines is not None:
        (folder / "test.jsonl").write_text("\n".join(lines) + "\n")
    return folder


GOOD_MANIFEST = {
    "format": "escalade-benchmark/1",
    "name": "x",
    "models": {"m": {"input_usd_per_mtok": 1, "output_usd_per_mtok": 2}},
    "splits": {"test": {"file": "test.jsonl", "rows": 1}},
}


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"format": "other/1"}, r"manifest\.json, field 'format': expected 'escalade-benchmark/1'"),
        ({"name": 3}, r"field 'name': must be str"),
        ({"models": {}}, r"field 'models': lists no models"),
        ({"models": {"m": {"input_usd_per_mtok": "x", "output_usd_per_mtok": 1}}}, r"models\.m\.input_usd_per_mtok"),
        ({"models": {"m": {"input_usd_per_mtok": -1, "output_usd_per_mtok": 1}}}, r"field 'models\.m': prices"),
        ({"splits": {"test": {"file": "../x.jsonl", "rows": 1}}}, r"splits\.test\.file"),
        ({"splits": {"test": {"file": "test.jsonl"}}}, r"field 'splits\.test\.rows': is missing"),
        ({"splits": {}}, r"field 'splits': lists no splits"),
    ],
)
def test_bad_manifest(tmp_path: Path, change: dict[str, object], pattern: str) -> None:
    """Each manifest defect is reported with the file and field."""
    with pytest.raises(DatasetError, match=pattern):
        load_dataset(_write(tmp_path / "d", {**GOOD_MANIFEST, **change}))


def test_manifest_not_json(tmp_path: Path) -> None:
    """Invalid JSON in the manifest names the file and line."""
    with pytest.raises(DatasetError, match=r"manifest\.json, line 2: not valid JSON"):
        load_dataset(_write(tmp_path / "d", '{"format":\n  oops}'))


def test_missing_folder_and_manifest(tmp_path: Path) -> None:
    """A missing folder or manifest is a clear error."""
    with pytest.raises(DatasetError, match="dataset folder not found"):
        load_dataset(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"manifest\.json not found"):
        load_dataset(tmp_path / "empty")


GOOD_ROW = {"id": "r1", "prompt": "p", "task": "t", "outputs": {"m": {"score": 1.0, "cost_usd": 0.1, "response": "A"}}}


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("{not json", r"test\.jsonl, line 1: not valid JSON"),
        ("[1, 2]", r"line 1: a row must be a JSON object"),
        (json.dumps({**GOOD_ROW, "id": 5}), r"line 1, field 'id': must be str"),
        (json.dumps({k: v for k, v in GOOD_ROW.items() if k != "prompt"}), r"line 1, field 'prompt': is missing"),
        (
            json.dumps({**GOOD_ROW, "outputs": {"zz": {"score": 1, "cost_usd": 0}}}),
            r"field 'outputs\.zz': model is not",
        ),
        (
            json.dumps({**GOOD_ROW, "outputs": {"m": {"score": 2, "cost_usd": 0}}}),
            r"field 'outputs\.m\.score': must be in",
        ),
        (
            json.dumps({**GOOD_ROW, "outputs": {"m": {"score": 1, "cost_usd": -1}}}),
            r"outputs\.m\.cost_usd': must be >= 0",
        ),
        (json.dumps({**GOOD_ROW, "outputs": {"m": {"score": 1}}}), r"outputs\.m\.cost_usd': is missing"),
        (
            json.dumps({**GOOD_ROW, "outputs": {"m": {"score": 1, "cost_usd": 0, "response": 3}}}),
            r"outputs\.m\.response",
        ),
        (
            json.dumps({**GOOD_ROW, "outputs": {"m": {"score": True, "cost_usd": 0}}}),
            r"outputs\.m\.score': must be float",
        ),
    ],
)
def test_bad_row(tmp_path: Path, line: str, pattern: str) -> None:
    """Each row defect is reported with file, line and field."""
    ds = load_dataset(_write(tmp_path / "d", GOOD_MANIFEST, [line]))
    with pytest.raises(DatasetError, match=pattern):
        ds.rows("test")


def test_row_count_must_match_manifest(tmp_path: Path) -> None:
    """A split whose row count differs from the manifest is rejected."""
    ds = load_dataset(
        _write(tmp_path / "d", GOOD_MANIFEST, [json.dumps(GOOD_ROW), json.dumps({**GOOD_ROW, "id": "r2"})])
    )
    with pytest.raises(DatasetError, match="manifest says 1 rows, file has 2"):
        ds.rows("test")


def test_unknown_split_and_missing_file(tmp_path: Path) -> None:
    """Asking for an absent split, or a split whose file is missing, is a clear error."""
    ds = load_dataset(_write(tmp_path / "d", GOOD_MANIFEST))
    with pytest.raises(DatasetError, match="no split 'train'; this dataset has: test"):
        ds.rows("train")
    with pytest.raises(DatasetError, match="split file not found"):
        ds.rows("test")


@pytest.mark.parametrize("name", ["routerbench-arc", "routerbench-mbpp", "routellm-gsm8k"])
def test_shared_datasets_load(shared_benchmarks: Path, name: str) -> None:
    """The shared benchmarks load whole, with the row counts their manifests state."""
    ds = load_dataset(shared_benchmarks / name)
    for split, (_, count) in ds.splits.items():
        assert len(ds.rows(split)) == count


def test_arc_test_has_62_missing_outcomes(shared_benchmarks: Path) -> None:
    """routerbench-arc test has the 62 model gaps its README states; they are absent, not wrong."""
    ds = load_dataset(shared_benchmarks / "routerbench-arc")
    rows = ds.rows("test")
    assert sum(len(ds.models) - len(r.outputs) for r in rows) == 62
