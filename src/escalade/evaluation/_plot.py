"""Cost–quality plot of an evaluation report (matplotlib, imported only when a plot is asked for).

Every policy gets a colour of its own (the 20 of ``tab20``; for more series, evenly spaced ``turbo``
colours, distinct up to 256 series), and markers cycle beside the colours, so no two series look alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from escalade.evaluation._harness import EvalReport, PolicyReport
from escalade.exceptions import EscaladeError

__all__ = ["plot_report", "series_styles"]

#: Markers of single points, in turn (premium keeps its star, the oracle its diamond).
_MARKERS = ("o", "s", "^", "v", "P", "X", "<", ">", "h", "p")
_QUALITATIVE = 20  # colours in tab20


def series_styles(n: int) -> list[tuple[str, str]]:
    """``n`` ``(colour, marker)`` pairs: every colour differs (up to 256 series), markers cycle.

    >>> [colour for colour, _ in series_styles(2)]
    ['#1f77b4', '#aec7e8']
    """
    from matplotlib import colormaps  # noqa: PLC0415  # heavy; only for --plot
    from matplotlib.colors import to_hex  # noqa: PLC0415

    if n <= _QUALITATIVE:
        colours = [to_hex(colormaps["tab20"](i)) for i in range(n)]
    else:
        turbo = colormaps["turbo"].resampled(n)
        colours = [to_hex(turbo(i)) for i in range(n)]
    return [(colour, _MARKERS[i % len(_MARKERS)]) for i, colour in enumerate(colours)]


def _draw(ax: Any, policy: PolicyReport, report: EvalReport, colour: str, marker: str) -> None:
    """One policy's series: a point, or its curve."""
    if policy.curve:
        xs, ys = zip(*[(p.cost_ratio, p.quality) for p in policy.curve], strict=True)
        ax.plot(
            xs, ys, marker=marker, markersize=4, linestyle="-", color=colour, label=f"{policy.name} ({policy.kind})"
        )
        return
    size = 8
    if policy.kind == "single" and policy.name == report.premium_model:
        marker, size = "*", 14
    elif policy.kind == "oracle":
        marker, size = "D", 9
    label = policy.name if policy.kind == "single" else f"{policy.name} ({policy.kind})"
    if policy.kind == "oracle":
        label = f"{policy.name} (offline ceiling)"
    ax.plot(
        [policy.cost_ratio], [policy.quality], marker=marker, markersize=size, linestyle="", color=colour, label=label
    )


def plot_report(report: EvalReport, path: str | Path) -> Path:
    """Write a PNG of every policy's cost–quality curve (premium and oracle marked) to ``path``."""
    import matplotlib  # noqa: PLC0415  # heavy; only for --plot

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    out = Path(path)
    fig, ax = plt.subplots(figsize=(9, 6), dpi=120)
    try:
        for policy, (colour, marker) in zip(report.policies, series_styles(len(report.policies)), strict=True):
            _draw(ax, policy, report, colour, marker)
        target = report.target_quality * report.premium_quality
        ax.axhline(report.premium_quality, color="red", linestyle="--", linewidth=1, label="premium quality")
        ax.axhline(target, color="grey", linestyle=":", linewidth=1, label=f"{report.target_quality:.0%} of premium")
        ax.set_xlabel("cost relative to premium-only (1.0 = premium for every row)")
        ax.set_ylabel("mean recorded quality")
        ax.set_title(f"{report.dataset} ({report.split}, {report.rows} rows): cost vs quality")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right", ncol=2)
        fig.tight_layout()
        try:
            fig.savefig(out, format="png")
        except OSError as exc:
            raise EscaladeError(f"{out}: cannot write the plot: {exc.strerror}") from None
    finally:
        plt.close(fig)
    return out
