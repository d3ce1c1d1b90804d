"""Run the ladder over recorded real outcomes (no API keys): tier mapping, oracle, accuracy.

The default ladder comes from the dataset's list prices: the two cheapest models form the cheap
tier (so its two attempts get two independent opinions), the most expensive model is the premium
tier, and the models in between form the capable tier, cheapest first. Recorded outcomes are single
answers, so every tier runs a team of one.

Accuracy (mean recorded grade of the final answers) is computed after the run for the report only;
the cascade never sees a grade, except through :class:`OfflineOracleScorer`, which reads grades on
purpose to measure the ceiling and must never be mistaken for a real policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from statistics import fmean

from escalade.cascade import ProgressiveWorkflowResult, WorkItem
from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig, Ladder
from escalade.providers import default_ladder
from escalade.quality import FailureAnalysis, ScoringContext, extract_answer
from escalade.replay._datasets import BenchmarkDataset, BenchmarkRow

__all__ = [
    "OFFLINE_WORKFLOW",
    "OfflineOracleScorer",
    "PremiumCost",
    "ReplayPlan",
    "accuracy_metrics",
    "plan_live",
    "plan_replay",
    "premium_baseline",
    "premium_cost",
    "price_ladder",
    "recorded_grade",
    "reference_metrics",
    "select_rows",
    "work_items",
]


#: The workflow replays scored by an offline scorer are stored under, so they never mix with real policies.
OFFLINE_WORKFLOW = "replay-offline"


class OfflineOracleScorer:
    """OFFLINE ORACLE: scores an answer by its recorded grade. It cheats by design.

    It exists only to measure the ceiling of a ladder (what a perfect quality signal would save);
    no real system can see grades at run time.
    """

    is_oracle = True

    def __init__(self, rows: Iterable[BenchmarkRow]) -> None:
        self._rows = {row.key: row for row in rows}

    def score(self, context: ScoringContext) -> FailureAnalysis:
        grade = recorded_grade(self._rows[context.item_id], context.completion.model, context.completion.text)
        note = "offline oracle: recorded grade" if grade is not None else "offline oracle: answer has no recorded grade"
        return FailureAnalysis(signals={"oracle_grade": grade or 0.0}, weights={"oracle_grade": 1.0}, notes=(note,))

    def __repr__(self) -> str:
        return "OfflineOracleScorer()"


def price_ladder(models_by_price: Sequence[str], base: Ladder) -> Ladder:
    """Fill ``base``'s tiers with models in price order (cheapest first); empty tiers are dropped."""
    n, k = len(models_by_price), len(base)
    if n == 0:
        raise ConfigError("the dataset lists no models", field="models")
    if n == 1 or k == 1:
        return Ladder([replace(base.top, models=(models_by_price[-1],), rank=0)])
    groups: list[list[str]] = [[] for _ in range(k)]
    groups[-1] = [models_by_price[-1]]
    rest = list(models_by_price[:-1])
    first = min(2, len(rest)) if k > 2 else len(rest)
    groups[0], middle = rest[:first], rest[first:]
    for i, model in enumerate(middle):
        groups[1 + (i * (k - 2)) // max(len(middle), 1)].append(model)
    return Ladder(replace(t, models=tuple(g)) for t, g in zip(base, groups, strict=True) if g)


@dataclass(frozen=True, kw_only=True)
class ReplayPlan:
    """Everything needed to replay a dataset split through the ladder."""

    config: EscalationConfig
    rows: tuple[BenchmarkRow, ...]
    items: tuple[WorkItem, ...]
    notes: tuple[str, ...]
    #: The top tier's first model's recorded cost over the rows (``None`` for live calls, whose
    #: baseline comes from prices): what :func:`premium_baseline` and the run's note are built from.
    premium: PremiumCost | None = None


def select_rows(dataset: BenchmarkDataset, split: str, limit: int | None) -> list[BenchmarkRow]:
    """The rows of ``split``, the first ``limit`` of them when a limit is given."""
    rows = dataset.rows(split)
    if limit is not None:
        if limit < 1:
            raise ConfigError(f"must be at least 1, got {limit}", field="limit")
        rows = rows[:limit]
    return list(rows)


def work_items(dataset: BenchmarkDataset, rows: Sequence[BenchmarkRow]) -> tuple[WorkItem, ...]:
    """One work item per row: its prompt, as the models saw it."""
    return tuple(WorkItem(id=r.key, prompt=r.prompt, task_kind=dataset.task_kind) for r in rows)


def plan_replay(
    dataset: BenchmarkDataset,
    split: str,
    config: EscalationConfig,
    *,
    limit: int | None = None,
    offline_scorer: bool = False,
) -> ReplayPlan:
    """Rows, work items and the ladder for replaying ``split``; tiers without models get price defaults.

    ``offline_scorer``: the run is scored from recorded grades, which the notes then say instead of
    suggesting it.
    """
    rows = select_rows(dataset, split, limit)
    notes: list[str] = []
    ladder = config.tiers
    if not any(t.models for t in ladder):
        ladder = price_ladder(dataset.models_by_price(), ladder)
        notes.append("tiers from list prices: " + "; ".join(f"{t.name}={', '.join(t.models)}" for t in ladder))
    else:
        empty = [t.name for t in ladder if not t.models]
        if empty:
            raise ConfigError(
                f"tier(s) {', '.join(empty)} name no models; give every tier models, or none at all "
                "to derive the ladder from the dataset's list prices",
                field="tiers",
            )
        for tier in ladder:
            unknown = [m for m in tier.models if m not in dataset.models]
            if unknown:
                raise ConfigError(
                    f"model(s) not in dataset {dataset.name!r}: {', '.join(unknown)}; "
                    f"it has: {', '.join(dataset.models_by_price())}",
                    field=f"tiers.{tier.name}.models",
                )
    if any(t.team_size > 1 for t in ladder):
        notes.append("recorded outcomes are single answers: teams of one on every tier")
        ladder = Ladder(replace(t, team_size=1) for t in ladder)
    if all(o.response is None for r in rows for o in r.outputs.values()):
        notes.append(
            "the dataset records no response text: run-time scorers cannot judge its answers "
            + (
                "(this run's offline scorer reads the recorded grades instead)"
                if offline_scorer
                else "so items climb to the top tier (use --scorer oracle to see the ceiling)"
            )
        )
    premium = premium_cost(rows, ladder.top.models[0])
    notes += [note] if (note := premium.run_note()) else []
    items = work_items(dataset, rows)
    return ReplayPlan(
        config=config.replace(tiers=ladder), rows=tuple(rows), items=items, notes=tuple(notes), premium=premium
    )


@dataclass(frozen=True, kw_only=True)
class PremiumCost:
    """What the premium model's recorded outcomes cost over some rows, and how many rows have none.

    ``escalade eval`` compares policies with :attr:`recorded_usd` (rows without an outcome cost
    nothing there); ``escalade run``'s premium-only baseline is :attr:`filled_usd`, each such row at
    the model's mean recorded cost. Both say which, when rows are missing.
    """

    model: str
    rows: int
    #: Rows with a recorded outcome of the model, and what those outcomes cost.
    recorded: int
    recorded_usd: float

    @property
    def missing(self) -> int:
        """Rows with no recorded outcome of the model."""
        return self.rows - self.recorded

    @property
    def mean_usd(self) -> float:
        return self.recorded_usd / self.recorded if self.recorded else 0.0

    @property
    def filled_usd(self) -> float:
        """The cost with each row lacking an outcome counted at the mean (``escalade run``'s baseline)."""
        return self.recorded_usd + self.missing * self.mean_usd

    def run_note(self) -> str | None:
        """What ``escalade run`` says about its baseline, when rows lack an outcome."""
        if not self.missing:
            return None
        return (
            f"premium-only baseline: {self.missing} of {self.rows} rows have no recorded outcome of {self.model}; "
            f"each counts at its mean recorded cost (${self.mean_usd:.6f}), ${self.filled_usd:.6f} in all, "
            f"where `escalade eval` leaves them out (${self.recorded_usd:.6f})"
        )


def premium_cost(rows: Iterable[BenchmarkRow], model: str) -> PremiumCost:
    """The recorded cost of ``model`` over ``rows``, and how many rows have no outcome of it."""
    listed = list(rows)
    known = [r.outputs[model].cost_usd for r in listed if model in r.outputs]
    return PremiumCost(model=model, rows=len(listed), recorded=len(known), recorded_usd=sum(known))


def premium_baseline(plan: ReplayPlan) -> dict[str, float]:
    """Recorded cost of the top tier's first model per row (its mean cost where it has no outcome)."""
    if plan.premium is None:
        raise ConfigError("a plan of live calls has no recorded premium cost: its baseline comes from prices")
    model, fallback = plan.premium.model, plan.premium.mean_usd
    return {r.key: r.outputs[model].cost_usd if model in r.outputs else fallback for r in plan.rows}


def recorded_grade(row: BenchmarkRow, model: str | None, text: str | None) -> float | None:
    """The recorded grade of ``text`` as ``model``'s answer to ``row``; ``None`` when not graded.

    Only a model's primary recorded response carries a grade (samples do not).
    """
    outcome = row.outputs.get(model) if model else None
    if outcome is None or text != outcome.response:
        return None
    return outcome.score


def accuracy_metrics(plan: ReplayPlan, result: ProgressiveWorkflowResult) -> dict[str, object]:
    """Offline figures for the report: accuracy of the final answers and of the premium model alone.

    Accuracy is the mean recorded grade over items whose final answer has a grade; items the run did
    not finish, could not answer, or answered with an ungraded sample are counted apart, never as wrong.
    """
    rows = {r.key: r for r in plan.rows}
    grades = [recorded_grade(rows[i.item_id], i.final_model, i.final_answer) for i in result.items]
    graded = [g for g in grades if g is not None]
    premium = plan.config.tiers.top.models[0]
    premium_scores = [r.outputs[premium].score for r in plan.rows if premium in r.outputs]
    return {
        "accuracy": fmean(graded) if graded else None,
        "graded": len(graded),
        "answered": sum(1 for i in result.items if i.final_model),
        "premium_model": premium,
        "premium_accuracy": fmean(premium_scores) if premium_scores else None,
    }


def reference_metrics(plan: ReplayPlan, result: ProgressiveWorkflowResult, task_kind: str) -> dict[str, object]:
    """Accuracy of live answers against the rows' reference answers, where rows have one.

    Recorded grades belong to recorded answers, so a live answer is graded only by comparing the
    answer read from it with the one read from the row's ``reference``; rows without a reference are
    not graded (``accuracy`` is ``None`` when none has one).
    """
    rows = {r.key: r for r in plan.rows}
    graded = [
        float(extract_answer(i.final_answer, task_kind) == extract_answer(reference, task_kind))
        for i in result.items
        if i.final_model and (reference := rows[i.item_id].reference) is not None
    ]
    return {
        "accuracy": fmean(graded) if graded else None,
        "graded": len(graded),
        "answered": sum(1 for i in result.items if i.final_model),
    }


def plan_live(
    dataset: BenchmarkDataset, split: str, config: EscalationConfig, provider: str, *, limit: int | None = None
) -> ReplayPlan:
    """Rows, work items and the ladder for sending ``split`` to a live provider.

    The ladder is the configuration's, or the provider's defaults when the configuration names no
    models; a configuration that names models for only some tiers is an error.
    """
    rows = select_rows(dataset, split, limit)
    ladder = config.tiers
    notes = [f"live provider {provider}: every answer is a real, billed call"]
    if not any(t.models for t in ladder):
        ladder = default_ladder(provider, ladder)
        notes.append(f"{provider} default models: " + "; ".join(f"{t.name}={', '.join(t.models)}" for t in ladder))
    elif empty := [t.name for t in ladder if not t.models]:
        raise ConfigError(
            f"tier(s) {', '.join(empty)} name no models; give every tier models, or none at all for the "
            f"{provider} defaults",
            field="tiers",
        )
    return ReplayPlan(
        config=config.replace(tiers=ladder), rows=tuple(rows), items=work_items(dataset, rows), notes=tuple(notes)
    )
