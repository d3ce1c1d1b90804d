"""Shared fixtures: small datasets written on the fly, the shared benchmarks, databases."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.testgen import _isolation

SHARED_BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmarks"

MakeDataset = Callable[..., Path]


@pytest.fixture
def shared_benchmarks() -> Path:
    """The shared recorded benchmarks (required beside the repository, as in CI)."""
    if not SHARED_BENCHMARKS.is_dir():
        pytest.fail(f"shared benchmarks not found at {SHARED_BENCHMARKS}: clone with ../shared beside the repo")
    return SHARED_BENCHMARKS


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'escalade.db'}"


def row(row_id: str, prompt: str, outputs: dict[str, tuple[float, float, str | None]], **extra: Any) -> dict[str, Any]:
    """A dataset row from ``{model: (score, cost, response)}``."""
    return {
        "id": row_id,
        "prompt": prompt,
        "task": "t",
        "outputs": {m: {"score": s, "cost_usd": c, "response": r} for m, (s, c, r) in outputs.items()},
        **extra,
    }


TINY_MODELS = {
    "small-a": {"input_usd_per_mtok": 0.1, "output_usd_per_mtok": 0.1},
    "small-b": {"input_usd_per_mtok": 0.2, "output_usd_per_mtok": 0.2},
    "mid": {"input_usd_per_mtok": 1.0, "output_usd_per_mtok": 2.0},
    "big": {"input_usd_per_mtok": 10.0, "output_usd_per_mtok": 30.0},
}

TINY_ROWS = [
    # cheap models agree and are right: stays cheap
    row(
        "q1",
        "Q1?",
        {"small-a": (1, 0.001, "A"), "small-b": (1, 0.002, "A"), "mid": (1, 0.01, "A"), "big": (1, 0.1, "A")},
    ),
    # cheap models disagree, mid agrees with small-b: stops at capable
    row(
        "q2",
        "Q2?",
        {"small-a": (0, 0.001, "C"), "small-b": (1, 0.002, "B"), "mid": (1, 0.01, "B"), "big": (1, 0.1, "B")},
    ),
    # everyone disagrees: premium
    row(
        "q3",
        "Q3?",
        {"small-a": (0, 0.001, "A"), "small-b": (0, 0.002, "B"), "mid": (0, 0.01, "C"), "big": (1, 0.1, "D")},
    ),
    # small-b has no recorded outcome: cheap has only one opinion, climbs
    row("q4", "Q4?", {"small-a": (1, 0.001, "D"), "mid": (1, 0.01, "D"), "big": (1, 0.1, "D")}),
]


@pytest.fixture
def make_dataset(tmp_path: Path) -> MakeDataset:
    """Writes an escalade-benchmark/1 folder; returns its path."""

    def make(
        rows: list[dict[str, Any]] | None = None,
        *,
        models: dict[str, Any] | None = None,
        split: str = "test",
        task_kind: str = "multiple-choice",
        name: str = "tiny",
        manifest_extra: dict[str, Any] | None = None,
    ) -> Path:
        rows = TINY_ROWS if rows is None else rows
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        manifest = {
            "format": "escalade-benchmark/1",
            "name": name,
            "task_kind": task_kind,
            "models": models or TINY_MODELS,
            "splits": {split: {"file": f"{split}.jsonl", "rows": len(rows)}},
            **(manifest_extra or {}),
        }
        (folder / "manifest.json").write_text(json.dumps(manifest))
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        return folder

    return make


def ladder(*tiers: tuple[str, tuple[str, ...], float, int]) -> Ladder:
    """A ladder from ``(name, models, threshold, min_attempts)`` tuples, in order."""
    return Ladder(Tier(name=n, rank=i, models=m, threshold=t, min_attempts=a) for i, (n, m, t, a) in enumerate(tiers))


@pytest.fixture
def three_tier_config() -> EscalationConfig:
    """cheap (a, b; 2 attempts, 50) → capable (c; 1 attempt, 60) → premium (p; 1 attempt, 90); no budget limits."""
    return EscalationConfig(
        tiers=ladder(("cheap", ("a", "b"), 50.0, 2), ("capable", ("c",), 60.0, 1), ("premium", ("p",), 90.0, 1)),
        max_cost=None,
        auto_approve_under=None,
    )


@pytest.fixture
def unknown_architecture(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine whose system calls the testgen sandbox has no table for: no seccomp filter, no private view."""
    monkeypatch.setattr(_isolation, "table", lambda machine: None)
    _isolation.probe.cache_clear()
    yield
    _isolation.probe.cache_clear()


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own default data folder: a command run without --db never touches the user's store."""
    folder = tmp_path / "escalade-data"
    monkeypatch.setenv("ESCALADE_DATA_DIR", str(folder))
    monkeypatch.delenv("ESCALADE_DATABASE_URL", raising=False)
    return folder
