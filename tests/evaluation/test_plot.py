"""The cost–quality plot: every series has its own colour and marker, however many policies there are."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from escalade.evaluation import CurvePoint, EvalReport, PolicyReport, plot_report, series_styles


def _policy(name: str, kind: str, *, curve: bool = False) -> PolicyReport:
    points = [CurvePoint(cost_ratio=x, quality=0.5 + x / 4) for x in (0.2, 0.6)] if curve else None
    return PolicyReport(
        name=name,
        kind=kind,
        quality=0.7,
        cost_usd=1.0,
        cost_ratio=0.5,
        strong_share=0.5,
        coverage=1.0,
        quality_ci=(0.6, 0.8),
        cost_ci=(0.9, 1.1),
        savings_at_target=None,
        aiq=None,
        apgr=None,
        cpt50=None,
        cpt80=None,
        curve=points,
    )


def _report(singles: int, curves: int) -> EvalReport:
    policies = [_policy(f"model-{n}", "single") for n in range(singles)]
    policies += [_policy("oracle", "oracle"), _policy("random-mix", "random")]
    policies += [_policy(f"cascade-{n}", "cascade", curve=True) for n in range(curves)]
    return EvalReport(
        dataset="d",
        split="test",
        rows=10,
        premium_model="model-0",
        premium_quality=0.9,
        premium_cost_usd=2.0,
        target_quality=0.95,
        seed=0,
        policies=policies,
    )


@pytest.mark.parametrize(("singles", "curves"), [(2, 1), (11, 8), (30, 12)])
def test_every_series_has_its_own_colour_and_marker(
    singles: int, curves: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No two policies share a colour, nor a (colour, marker) pair, even past the default cycle of ten."""
    figures: list[Figure] = []
    monkeypatch.setattr(plt, "close", figures.append)
    report = _report(singles, curves)
    path = plot_report(report, tmp_path / "curves.png")
    assert path.stat().st_size > 0
    (ax,) = figures[0].axes
    lines = [line for line in ax.get_lines() if not str(line.get_label()).startswith(("premium quality", "95%"))]
    assert len(lines) == len(report.policies)
    colours = [to_hex(line.get_color()) for line in lines]
    assert len(set(colours)) == len(colours)
    figures[0].clf()


@pytest.mark.parametrize("n", [1, 10, 11, 20, 21, 64, 256])
def test_series_styles_are_distinct(n: int) -> None:
    """series_styles(n) gives n distinct colours, with markers cycling."""
    styles = series_styles(n)
    assert len(styles) == n
    assert len({colour for colour, _ in styles}) == n
