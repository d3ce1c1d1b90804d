"""Recorded real model outcomes in the ``escalade-benchmark/1`` layout.

A dataset folder holds ``manifest.json`` and one JSON-lines file per split. Row ids need not be
unique (published data sometimes splits one task over two records); each row gets a unique ``key``. Every row lists the
models that have a recorded outcome for it (grade, cost, response); a model missing from a row has
no outcome there, which is not the same as a wrong answer. Any malformed input raises
:class:`~escalade.exceptions.DatasetError` naming the file, line and field. That includes text a run
could not store (a NUL character, a lone surrogate, an id or model name longer than the store's
300 characters), so a run never stops part-way on a row it has already paid for, and a
``task_kind`` escalade does not know (see :data:`~escalade.quality._answers.TASK_KINDS`), so a typo
cannot quietly turn answer checking off.

Scores are offline knowledge: run-time code never receives a :class:`RecordedOutcome`, only the
completions a provider hands out.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from escalade.exceptions import DatasetError
from escalade.providers.pricing import ModelPrice
from escalade.quality import check_task_kind
from escalade.untrusted import MAX_ID_CHARS, parse_json, read_text, unstorable

__all__ = ["FORMAT", "BenchmarkDataset", "BenchmarkRow", "RecordedOutcome", "RecordedSample", "load_dataset"]

logger = logging.getLogger(__name__)

#: The layout version this module reads.
FORMAT = "escalade-benchmark/1"


@dataclass(frozen=True, slots=True)
class RecordedSample:
    """One extra sampled answer of a model (for consistency signals)."""

    response: str | None
    answer: str | None
    #: ``None`` when the sample's cost was not recorded (the replay then bills the primary response's cost).
    cost_usd: float | None


@dataclass(frozen=True, slots=True)
class RecordedOutcome:
    """What one model did on one row: grade (offline only), cost and response."""

    score: float
    cost_usd: float
    response: str | None
    samples: tuple[RecordedSample, ...] = ()


@dataclass(frozen=True, slots=True)
class BenchmarkRow:
    """One task with every model's recorded outcome."""

    id: str
    prompt: str
    task: str
    reference: str | None
    outputs: Mapping[str, RecordedOutcome]
    #: Unique key within the split: the id, or ``id#n`` for the n-th record repeating an id
    #: (published data sometimes splits one task's outcomes over two records).
    key: str = ""


@dataclass(frozen=True)
class BenchmarkDataset:
    """A validated dataset folder; splits are read on first use."""

    path: Path
    name: str
    description: str
    task_kind: str
    models: Mapping[str, ModelPrice]
    splits: Mapping[str, tuple[str, int]]
    manifest: Mapping[str, Any] = field(repr=False)

    @cached_property
    def _cache(self) -> dict[str, tuple[BenchmarkRow, ...]]:
        return {}

    def rows(self, split: str) -> tuple[BenchmarkRow, ...]:
        """All rows of ``split``, validated."""
        if split not in self.splits:
            raise DatasetError(
                f"no split {split!r}; this dataset has: {', '.join(self.splits)}",
                path=str(self.path / "manifest.json"),
                field="splits",
            )
        if split not in self._cache:
            file_name, expected = self.splits[split]
            self._cache[split] = _read_split(self.path / file_name, set(self.models), expected)
            logger.debug("dataset %s: read %d row(s) of split %r", self.name, len(self._cache[split]), split)
        return self._cache[split]

    def default_split(self) -> str:
        """``test`` when there is one, else the only or first split."""
        return "test" if "test" in self.splits else next(iter(self.splits))

    def models_by_price(self) -> list[str]:
        """Model names, cheapest blended list price first (ties by name)."""
        return sorted(self.models, key=lambda m: (self.models[m].blended_usd_per_mtok, m))


def load_dataset(path: str | Path) -> BenchmarkDataset:
    """Read and validate a dataset folder's manifest."""
    folder = Path(path)
    if not folder.is_dir():
        raise DatasetError("dataset folder not found", path=str(folder))
    where = str(folder / "manifest.json")
    manifest = _read_manifest(folder / "manifest.json")
    if manifest.get("format") != FORMAT:
        raise DatasetError(f"expected {FORMAT!r}, got {manifest.get('format')!r}", path=where, field="format")
    dataset = BenchmarkDataset(
        path=folder,
        name=_require(manifest, "name", str, where),
        description=str(manifest.get("description", "")),
        task_kind=_task_kind(manifest, where),
        models=_models(_require(manifest, "models", dict, where), where),
        splits=_splits(_require(manifest, "splits", dict, where), where),
        manifest=manifest,
    )
    logger.info(
        "dataset %s loaded from %s: %d model(s), splits %s",
        dataset.name,
        folder,
        len(dataset.models),
        ", ".join(dataset.splits),
    )
    return dataset


def _read_manifest(path: Path) -> dict[str, Any]:
    where = str(path)
    if not path.exists():
        raise DatasetError("manifest.json not found: is this an escalade-benchmark/1 folder?", path=where)
    text = read_text(path, what="manifest", error=lambda message, source: DatasetError(message, path=source))
    manifest = parse_json(text, lambda message, line: DatasetError(message, path=where, line=line))
    if not isinstance(manifest, dict):
        raise DatasetError("the manifest must be a JSON object", path=where)
    return manifest


def _models(raw: dict[str, Any], where: str) -> dict[str, ModelPrice]:
    if not raw:
        raise DatasetError("lists no models", path=where, field="models")
    for model in raw:
        if problem := unstorable(model, max_chars=MAX_ID_CHARS):
            raise DatasetError(f"model name {model[:40]!r}... {problem}", path=where, field="models")
    return {m: _price(p, where, f"models.{m}") for m, p in raw.items()}


def _splits(raw: dict[str, Any], where: str) -> dict[str, tuple[str, int]]:
    if not raw:
        raise DatasetError("lists no splits", path=where, field="splits")
    splits: dict[str, tuple[str, int]] = {}
    for split, spec in raw.items():
        spec_field = f"splits.{split}"
        if not isinstance(spec, dict):
            raise DatasetError("must be an object with 'file' and 'rows'", path=where, field=spec_field)
        file_name = _require(spec, "file", str, where, prefix=spec_field)
        rows = _require(spec, "rows", int, where, prefix=spec_field)
        if "/" in file_name or "\\" in file_name or file_name.startswith("."):
            raise DatasetError("must be a file name inside the dataset folder", path=where, field=f"{spec_field}.file")
        splits[split] = (file_name, rows)
    return splits


def _task_kind(manifest: Mapping[str, Any], where: str) -> str:
    """The manifest's ``task_kind`` (``short-answer`` when it has none); an unknown kind is an error."""
    kind = manifest.get("task_kind", "short-answer")
    if not isinstance(kind, str):
        raise DatasetError(f"must be str, got {type(kind).__name__}", path=where, field="task_kind")
    if problem := check_task_kind(kind):
        raise DatasetError(problem, path=where, field="task_kind")
    return kind


def _require(
    obj: Mapping[str, Any], key: str, kind: type, where: str, *, prefix: str = "", line: int | None = None
) -> Any:
    name = f"{prefix}.{key}" if prefix else key
    if key not in obj:
        raise DatasetError("is missing", path=where, line=line, field=name)
    value = obj[key]
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    else:
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise DatasetError(f"must be {kind.__name__}, got {type(value).__name__}", path=where, line=line, field=name)
    return value


def _price(raw: Any, where: str, name: str) -> ModelPrice:
    if not isinstance(raw, dict):
        raise DatasetError("must be an object with input/output prices", path=where, field=name)
    prices = [_require(raw, k, float, where, prefix=name) for k in ("input_usd_per_mtok", "output_usd_per_mtok")]
    if min(prices) < 0:
        raise DatasetError("prices must be >= 0", path=where, field=name)
    return ModelPrice(input_usd_per_mtok=float(prices[0]), output_usd_per_mtok=float(prices[1]))


def _read_split(path: Path, models: set[str], expected_rows: int) -> tuple[BenchmarkRow, ...]:
    where = str(path)
    rows: list[BenchmarkRow] = []
    seen: dict[str, int] = {}
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError("split file not found", path=where) from None
    except OSError as exc:
        raise DatasetError(f"cannot read split file: {exc.strerror}", path=where) from None
    with handle:
        for number, line in _lines(handle, where):
            if not line.strip():
                continue
            row = _parse_row(line, where, number, models)
            seen[row.id] = seen.get(row.id, 0) + 1
            key = row.id if seen[row.id] == 1 else f"{row.id}#{seen[row.id]}"
            if len(key) > MAX_ID_CHARS:
                message = (
                    f"repeats an id, and its key {key[:20]!r}... passes the {MAX_ID_CHARS} characters the store keeps"
                )
                raise DatasetError(message, path=where, line=number, field="id")
            rows.append(replace(row, key=key))
    if len(rows) != expected_rows:
        raise DatasetError(f"manifest says {expected_rows} rows, file has {len(rows)}", path=where, field="rows")
    return tuple(rows)


def _lines(handle: Iterable[str], where: str) -> Iterator[tuple[int, str]]:
    number = 0
    try:
        for number, line in enumerate(handle, start=1):  # number is read after the loop
            yield number, line
    except UnicodeDecodeError:
        raise DatasetError("not UTF-8 text", path=where, line=number + 1) from None
    except OSError as exc:
        raise DatasetError(f"cannot read split file: {exc.strerror}", path=where) from None


def _storable(value: str, where: str, number: int, field: str, *, max_chars: int | None = None) -> str:
    """``value``, if a run can store it; else an error naming the file, line and field."""
    if problem := unstorable(value, max_chars=max_chars):
        raise DatasetError(problem, path=where, line=number, field=field)
    return value


def _parse_row(line: str, where: str, number: int, models: set[str]) -> BenchmarkRow:
    raw = parse_json(line, lambda message, _: DatasetError(message, path=where, line=number))
    if not isinstance(raw, dict):
        raise DatasetError("a row must be a JSON object", path=where, line=number)
    row_id = _storable(_require(raw, "id", str, where, line=number), where, number, "id", max_chars=MAX_ID_CHARS)
    prompt = _storable(_require(raw, "prompt", str, where, line=number), where, number, "prompt")
    task = raw.get("task", "")
    reference = raw.get("reference")
    if not isinstance(task, str) or (reference is not None and not isinstance(reference, str)):
        raise DatasetError(
            "must be a string", path=where, line=number, field="task" if not isinstance(task, str) else "reference"
        )
    outputs_raw = _require(raw, "outputs", dict, where, line=number)
    outputs = {m: _parse_outcome(o, models, where, number, m) for m, o in outputs_raw.items()}
    return BenchmarkRow(id=row_id, prompt=prompt, task=task, reference=reference, outputs=outputs)


def _parse_outcome(raw: Any, models: set[str], where: str, number: int, model: str) -> RecordedOutcome:
    prefix = f"outputs.{model}"
    if model not in models:
        raise DatasetError("model is not listed in the manifest", path=where, line=number, field=prefix)
    if not isinstance(raw, dict):
        raise DatasetError("must be an object", path=where, line=number, field=prefix)
    score = float(_require(raw, "score", float, where, prefix=prefix, line=number))
    cost = float(_require(raw, "cost_usd", float, where, prefix=prefix, line=number))
    if not 0.0 <= score <= 1.0:
        raise DatasetError(f"must be in [0, 1], got {score}", path=where, line=number, field=f"{prefix}.score")
    if cost < 0:
        raise DatasetError(f"must be >= 0, got {cost}", path=where, line=number, field=f"{prefix}.cost_usd")
    response = raw.get("response")
    if response is not None and not isinstance(response, str):
        raise DatasetError("must be a string or null", path=where, line=number, field=f"{prefix}.response")
    if response is not None:
        _storable(response, where, number, f"{prefix}.response")
    samples_raw = raw.get("samples") or []
    if not isinstance(samples_raw, list):
        message = f"must be a list of sampled answers, got {type(samples_raw).__name__}"
        raise DatasetError(message, path=where, line=number, field=f"{prefix}.samples")
    samples = tuple(_parse_sample(s, where, number, f"{prefix}.samples[{i}]") for i, s in enumerate(samples_raw))
    return RecordedOutcome(score=score, cost_usd=cost, response=response, samples=samples)


def _parse_sample(raw: Any, where: str, number: int, name: str) -> RecordedSample:
    if not isinstance(raw, dict):
        raise DatasetError("must be an object", path=where, line=number, field=name)
    response, answer = raw.get("response"), raw.get("answer")
    for key, value in (("response", response), ("answer", answer)):
        if value is not None and not isinstance(value, str):
            raise DatasetError("must be a string or null", path=where, line=number, field=f"{name}.{key}")
        if value is not None:
            _storable(value, where, number, f"{name}.{key}")
    cost = raw.get("cost_usd")
    if cost is not None and not (isinstance(cost, int | float) and not isinstance(cost, bool) and 0 <= cost < math.inf):
        raise DatasetError("must be a number >= 0", path=where, line=number, field=f"{name}.cost_usd")
    return RecordedSample(response=response, answer=answer, cost_usd=None if cost is None else float(cost))
