"""Cost–quality plot of an evaluation report (matplotlib, imported only when a plot is asked for)."""

from __future__ import annotations

from pathlib import Path

from escalade.evaluation.harness import EvalReport
from escalade.exceptions import EscalationError

__all__ = ["plot_report"]


def plot_report(report: EvalReport, path: str | Path) -> Path:
    """Write a PNG of every policy's cost–quality curve (premium and oracle marked) to ``path``."""
    import matplotlib  # noqa: PLC0415  # heavy; only for --plot

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    out = Path(path)
    fig, ax = plt.subplots(figsize=(9, 6), dpi=120)
    try:
        for policy in report.policies:
            if policy.kind == "single":
                marker = "*" if policy.name == report.premium_model else "o"
                size = 14 if marker == "*" else 6
                ax.plot([policy.cost_ratio], [policy.quality], marker, markersize=size, label=policy.name)
            elif policy.curve:
                xs, ys = zip(*[(p.cost_ratio, p.quality) for p in policy.curve], strict=True)
                ax.plot(xs, ys, marker=".", linestyle="-", label=f"{policy.name} ({policy.kind})")
            else:
                style = "D" if policy.kind == "oracle" else "s"
                label = (
                    f"{policy.name} (offline ceiling)" if policy.kind == "oracle" else f"{policy.name} ({policy.kind})"
                )
                ax.plot([policy.cost_ratio], [policy.quality], style, markersize=9, label=label)
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
            raise EscalationError(f"{out}: cannot write the plot: {exc.strerror}") from None
    finally:
        plt.close(fig)
    return out
