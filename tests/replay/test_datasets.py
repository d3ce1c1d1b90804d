"""Loading escalade-benchmark/1 folders: valid data loads, malformed data names file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from escalade.exceptions import DatasetError
from escalade.quality import TASK_KINDS
from escalade.replay import load_dataset
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


SURROGATE = "\ud800"  # json.dumps writes it as the escape "\ud800", which json.loads reads back alone


def _outcome(**extra: object) -> dict[str, object]:
    return {"m": {"score": 1.0, "cost_usd": 0.1, "response": "A", **extra}}


@pytest.mark.parametrize(
    ("change", "field", "pattern"),
    [
        ({"prompt": "a\x00b"}, "prompt", "NUL character at position 1"),
        ({"prompt": f"a{SURROGATE}b"}, "prompt", "lone surrogate"),
        ({"id": "x" * 301}, "id", "301 characters long; the store keeps at most 300"),
        ({"id": "r\x00"}, "id", "NUL character"),
        ({"outputs": _outcome(response="A\x00")}, "outputs.m.response", "NUL character"),
        ({"outputs": _outcome(response=SURROGATE)}, "outputs.m.response", "lone surrogate"),
        ({"outputs": _outcome(samples=[{"answer": "\x00"}])}, "outputs.m.samples[0].answer", "NUL character"),
        ({"outputs": _outcome(samples=[{"response": SURROGATE}])}, "outputs.m.samples[0].response", "surrogate"),
    ],
)
def test_text_the_store_cannot_keep_is_refused_at_load(
    tmp_path: Path, change: dict[str, object], field: str, pattern: str
) -> None:
    """A NUL, a lone surrogate or an over-long id is refused when the split is read, naming line and field."""
    lines = [json.dumps(GOOD_ROW), json.dumps({**GOOD_ROW, "id": "r2", **change})]
    ds = load_dataset(
        _write(tmp_path / "d", {**GOOD_MANIFEST, "splits": {"test": {"file": "test.jsonl", "rows": 2}}}, lines)
    )
    with pytest.raises(DatasetError) as refused:
        ds.rows("test")
    assert (refused.value.line, refused.value.field) == (2, field)
    assert refused.value.path is not None
    assert refused.value.path.endswith("test.jsonl")
    assert pattern in str(refused.value)


def test_ids_up_to_the_store_limit_load(tmp_path: Path) -> None:
    """An id of exactly 300 characters, and NUL-free text with any other character, load."""
    line = json.dumps({**GOOD_ROW, "id": "x" * 300, "prompt": "tab\tnewline\n emoji \U0001f600 \ufffd"})
    (loaded,) = load_dataset(_write(tmp_path / "d", GOOD_MANIFEST, [line])).rows("test")
    assert len(loaded.key) == 300


def test_repeated_id_whose_key_passes_the_limit(tmp_path: Path) -> None:
    """A 299-character id repeated gets the key 'id#2' (301 characters): refused at its line."""
    lines = [json.dumps({**GOOD_ROW, "id": "x" * 299})] * 2
    manifest = {**GOOD_MANIFEST, "splits": {"test": {"file": "test.jsonl", "rows": 2}}}
    with pytest.raises(DatasetError, match=r"line 2, field 'id': repeats an id, and its key"):
        load_dataset(_write(tmp_path / "d", manifest, lines)).rows("test")


@pytest.mark.parametrize(
    ("models", "pattern"),
    [
        ({"m" * 301: GOOD_MANIFEST["models"]["m"]}, "301 characters long"),  # type: ignore[index]
        ({"m\x00": GOOD_MANIFEST["models"]["m"]}, "NUL character"),  # type: ignore[index]
    ],
)
def test_model_names_the_store_cannot_keep(tmp_path: Path, models: dict[str, object], pattern: str) -> None:
    """A model name the store's attempts table cannot hold is refused in the manifest."""
    with pytest.raises(DatasetError, match=rf"manifest\.json, field 'models': model name .*{pattern}"):
        load_dataset(_write(tmp_path / "d", {**GOOD_MANIFEST, "models": models}))


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [
        ("multiple_choice", r"unknown task kind 'multiple_choice' \(did you mean 'multiple-choice'\?\)"),
        ("Math-Word-Problem", r"unknown task kind 'Math-Word-Problem' \(did you mean 'math-word-problem'\?\)"),
        ("summarisation", r"unknown task kind 'summarisation'; known kinds: multiple-choice, .*free-text"),
        (7, "must be str, got int"),
    ],
)
def test_unknown_task_kind_is_an_error(tmp_path: Path, kind: object, pattern: str) -> None:
    """A task_kind escalade does not know is refused with the known kinds and the closest one."""
    with pytest.raises(DatasetError, match=rf"manifest\.json, field 'task_kind': {pattern}"):
        load_dataset(_write(tmp_path / "d", {**GOOD_MANIFEST, "task_kind": kind}))


@pytest.mark.parametrize("kind", [*TASK_KINDS, None])
def test_known_task_kinds_load(tmp_path: Path, kind: str | None) -> None:
    """Every known kind loads, free-text (any other task) included; no task_kind means short-answer."""
    manifest = GOOD_MANIFEST if kind is None else {**GOOD_MANIFEST, "task_kind": kind}
    assert load_dataset(_write(tmp_path / "d", manifest)).task_kind == (kind or "short-answer")


def test_every_shared_manifest_loads(shared_benchmarks: Path) -> None:
    """The shared datasets' manifests all name a known task kind."""
    folders = sorted(p.parent for p in shared_benchmarks.glob("*/manifest.json"))
    assert len(folders) == 4
    assert {load_dataset(folder).task_kind for folder in folders} <= set(TASK_KINDS)


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("where", "text", "pattern"),
    [
        ("manifest", '{"format": "escalade-benchmark/1", "x": ' + DEEP + "}", r"manifest\.json: nested too deeply"),
        ("manifest", '{"format": "escalade-benchmark/1", "x": ' + "1" * 5000 + "}", r"manifest\.json: .*4,300 digits"),
        ("row", json.dumps({**GOOD_ROW, "task": None})[:-1] + ', "x": ' + DEEP + "}", r"line 1: nested too deeply"),
        ("row", json.dumps(GOOD_ROW)[:-1] + ', "x": ' + "9" * 5000 + "}", r"line 1: holds an integer of more than"),
    ],
)
def test_hostile_json_is_a_dataset_error(tmp_path: Path, where: str, text: str, pattern: str) -> None:
    """Brackets nested 100,000 deep or a 5,000-digit integer are a DatasetError, not RecursionError/ValueError."""
    folder = _write(
        tmp_path / "d", text if where == "manifest" else GOOD_MANIFEST, None if where == "manifest" else [text]
    )
    with pytest.raises(DatasetError, match=pattern):
        load_dataset(folder).rows("test")


@pytest.mark.parametrize("samples", [5, "abc", {"response": "B"}])
def test_samples_must_be_a_list(tmp_path: Path, samples: object) -> None:
    """``"samples": 5`` (or any non-list) names the field instead of raising TypeError."""
    line = json.dumps({**GOOD_ROW, "outputs": _outcome(samples=samples)})
    with pytest.raises(DatasetError, match=r"line 1, field 'outputs\.m\.samples': must be a list of sampled answers"):
        load_dataset(_write(tmp_path / "d", GOOD_MANIFEST, [line])).rows("test")
