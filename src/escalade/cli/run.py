"""``escalade run``: the ladder over a dataset, from recorded outcomes (no key) or live provider calls."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from escalade.cli.common import DbOption, JsonOption, fail, handle_errors, open_store, out_console, print_json
from escalade.cli.policy import (
    CertifyOption,
    CrossFitOption,
    DeltaOption,
    FitOnOption,
    PolicyOptions,
    RouterOption,
    TargetQualityOption,
    VerifierOption,
    learned_policy,
)
from escalade.exceptions import RunStoppedError

if TYPE_CHECKING:
    from escalade.budget import BudgetLedger, WorkspaceBudget
    from escalade.cascade import (
        CallObserver,
        ModelOrder,
        ProgressiveWorkflowResult,
        RunListener,
        TeamStrategy,
        WorkItem,
    )
    from escalade.cli.live import LiveOptions
    from escalade.ladder import EscalationConfig, Tier
    from escalade.providers import Provider
    from escalade.quality import Scorer
    from escalade.replay import BenchmarkDataset, ReplayPlan
    from escalade.store import SqlStore

__all__ = ["run_command"]


@dataclass(frozen=True, kw_only=True)
class _Setup:
    """What a run needs beyond the shared options: where answers come from and how they are judged."""

    plan: ReplayPlan
    provider: Provider
    scorer: Scorer
    workflow: str
    offline_scorer: bool
    #: Premium-only cost per item (``None``: the executor estimates it from prices).
    baseline: Callable[[WorkItem], float] | None = None
    ledger: BudgetLedger | None = None
    workspace_budget: WorkspaceBudget | None = None
    model_order: ModelOrder | None = None
    call_observer: CallObserver | None = None
    #: The team of each tier (``None``: the built-in teams); self-consistency samples on the cheap tiers.
    teams: Callable[[Tier], TeamStrategy] | None = None
    #: The name the run's scorer is reported under, when it is not the --scorer option (a learned policy).
    scorer_name: str | None = None
    metrics: Callable[[ProgressiveWorkflowResult], dict[str, object]]


def _learned_setup(
    dataset: BenchmarkDataset, split: str, cfg: EscalationConfig, limit: int | None, options: PolicyOptions
) -> _Setup:
    """Recorded answers decided by a learned policy: per-item start tiers, the verifier on the cheap answer."""
    from escalade.replay import ReplayProvider, accuracy_metrics, plan_replay, premium_baseline

    policy = learned_policy(dataset, split, options, limit)
    plan = policy.apply(plan_replay(dataset, split, policy.config(cfg), limit=limit))
    baseline = premium_baseline(plan)
    provenance = policy.provenance
    return _Setup(
        plan=plan,
        provider=ReplayProvider(plan.rows),
        scorer=policy.scorer,
        scorer_name=f"learned {provenance.kind}",
        workflow="replay",
        offline_scorer=False,
        baseline=lambda item: baseline[item.id],
        metrics=lambda result: {
            **accuracy_metrics(plan, result),
            "policy": provenance.kind,
            "policy_source": provenance.source,
            "policy_fit_split": provenance.fit_split,
            "policy_folds": provenance.folds,
            "policy_fit_rows": provenance.fit_rows,
            "policy_operating_points": ", ".join(f"{p:.4g}" for p in provenance.operating_points),
            "target_quality": provenance.target_quality,
        },
    )


def _parse_options(pairs: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise fail(f"--scorer-option takes KEY=VALUE, got {pair!r}")
        options[key.strip()] = value.strip()
    return options


def _sampling_teams(scorer: Scorer, cfg: EscalationConfig) -> Callable[[Tier], TeamStrategy] | None:
    """Teams that sample each answer ``k`` times below the top tier, for a scorer that needs samples."""
    from escalade.cascade import SampledAgent, default_team

    k = getattr(scorer, "samples", 1)
    if not isinstance(k, int) or k <= 1:
        return None
    top = cfg.tiers.top.name
    return lambda tier: default_team(tier.team_size) if tier.name == top else SampledAgent(k)


def _replay_setup(
    dataset: BenchmarkDataset,
    split: str,
    cfg: EscalationConfig,
    limit: int | None,
    scorer: str,
    scorer_options: dict[str, str],
) -> _Setup:
    """Recorded answers: no key, no real spend, so no shared ledger either."""
    from escalade.plugins import OFFLINE_SCORERS, ScorerSetup, available, make_scorer
    from escalade.replay import OFFLINE_WORKFLOW, ReplayProvider, accuracy_metrics, plan_replay, premium_baseline

    plan = plan_replay(dataset, split, cfg, limit=limit, offline_scorer=scorer in available(OFFLINE_SCORERS))
    built = make_scorer(scorer, ScorerSetup(task_kind=dataset.task_kind, options=scorer_options), rows=plan.rows)
    baseline = premium_baseline(plan)
    return _Setup(
        plan=plan,
        provider=ReplayProvider(plan.rows),
        scorer=built.scorer,
        teams=_sampling_teams(built.scorer, plan.config),
        workflow=OFFLINE_WORKFLOW if built.offline else "replay",
        offline_scorer=built.offline,
        baseline=lambda item: baseline[item.id],
        metrics=lambda result: accuracy_metrics(plan, result),
    )


def _live_setup(
    dataset: BenchmarkDataset,
    split: str,
    cfg: EscalationConfig,
    limit: int | None,
    scorer: str,
    scorer_options: dict[str, str],
    live: LiveOptions,
    store: SqlStore,
) -> _Setup:
    """Real calls with the workspace's key; spend is reserved on the store's ledger, month line included."""
    from escalade.cli.live import live_resources
    from escalade.plugins import ScorerSetup, make_scorer
    from escalade.replay import plan_live, reference_metrics

    plan = plan_live(dataset, split, cfg, live.provider, limit=limit)
    setup = ScorerSetup(task_kind=dataset.task_kind, options=scorer_options)
    built = make_scorer(scorer, setup)  # offline scorers refuse: no grades
    used = live_resources(store, live, expected_output_tokens=plan.config.max_output_tokens // 4)
    return _Setup(
        plan=plan,
        provider=used.provider,
        scorer=built.scorer,
        teams=_sampling_teams(built.scorer, plan.config),
        workflow="live",
        offline_scorer=False,
        ledger=used.ledger,
        workspace_budget=used.workspace_budget,
        model_order=lambda tier, item: used.router.rank_models(tier, item.prompt),
        call_observer=used.router,
        metrics=lambda result: reference_metrics(plan, result, dataset.task_kind),
    )


@handle_errors
def run_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Folder of an escalade-benchmark/1 dataset.")],
    split: Annotated[str | None, typer.Option(help="Split to run (default: test, or the only split).")] = None,
    limit: Annotated[int | None, typer.Option(help="Run only the first N rows.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML config file.")] = None,
    scorer: Annotated[
        str,
        typer.Option(
            help="Scorer plugin: consensus (run-time signals), self-consistency (k samples of one model agree), "
            "verifier (a learned verifier artifact), oracle (offline: reads grades), or one you installed."
        ),
    ] = "consensus",
    scorer_option: Annotated[
        list[str] | None,
        typer.Option(
            "--scorer-option",
            help="KEY=VALUE option of the scorer, repeatable: self-consistency k=5 min_agreement=0.6; "
            "verifier artifact=FILE threshold=P.",
        ),
    ] = None,
    router: RouterOption = None,
    verifier: VerifierOption = None,
    fit_on: FitOnOption = None,
    cross_fit: CrossFitOption = None,
    target_quality: TargetQualityOption = 0.95,
    certify: CertifyOption = False,
    delta: DeltaOption = 0.05,
    provider: Annotated[
        str,
        typer.Option(
            help="Where answers come from: replay (recorded outcomes, no key), or openai / anthropic (real calls "
            "with the workspace's key)."
        ),
    ] = "replay",
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="The provider's API at another address (openai: any compatible server)."),
    ] = None,
    stream: Annotated[bool, typer.Option("--stream", help="Stream live answers (usage from the stream).")] = False,
    cache_prompts: Annotated[
        bool, typer.Option("--cache-prompts", help="With --provider anthropic: mark prompts for prompt caching.")
    ] = False,
    workspace: Annotated[
        str | None, typer.Option(help="Workspace whose keys and budget a live run uses (default: default).")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds a live call may take (default 60).")
    ] = None,
    unknown_prices: Annotated[
        str | None,
        typer.Option(
            "--unknown-prices",
            help="fail (default): a model with no known price is never called, as its spend cannot be guarded; "
            "allow: call it and count its bills as $0 (self-hosted models).",
        ),
    ] = None,
    concurrency: Annotated[int | None, typer.Option(help="Items worked on at once.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve spending above auto_approve_under.")] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Run the tier ladder over a dataset (recorded outcomes or live calls) and report cost, savings and accuracy."""
    from escalade.cli.live import check_live_options
    from escalade.ladder import load_config
    from escalade.replay import load_dataset

    if concurrency is not None and concurrency < 1:
        raise fail(f"--concurrency must be at least 1, got {concurrency}")
    live = check_live_options(
        provider,
        offline="replay",
        workspace=workspace,
        base_url=base_url,
        stream=stream,
        cache_prompts=cache_prompts,
        timeout=timeout,
        unknown_prices=unknown_prices,
    )
    dataset = load_dataset(dataset_dir)
    cfg = load_config(config)
    if concurrency is not None:
        cfg = cfg.replace(max_concurrency=concurrency)
    split = split or dataset.default_split()
    options = PolicyOptions(
        router=router,
        verifier=verifier,
        fit_on=fit_on,
        cross_fit=cross_fit,
        target_quality=target_quality,
        certify=certify,
        delta=delta,
    )
    scorer_options = _parse_options(scorer_option or [])
    if options.wanted and (live is not None or scorer != "consensus" or scorer_options):
        raise fail(
            "--router/--verifier/--fit-on/--cross-fit replay recorded outcomes with their own scorer: "
            "drop --provider and --scorer"
        )
    store = open_store(db)
    if options.wanted:
        setup = _learned_setup(dataset, split, cfg, limit, options)
    elif live is None:
        setup = _replay_setup(dataset, split, cfg, limit, scorer, scorer_options)
    else:
        setup = _live_setup(dataset, split, cfg, limit, scorer, scorer_options, live, store)
    _execute(setup, setup.scorer_name or scorer, store, dataset.name, split, yes=yes, json_out=json_out)


def _execute(
    setup: _Setup,
    scorer_name: str,
    store: SqlStore,
    dataset_name: str,
    split: str,
    *,
    yes: bool,
    json_out: bool,
) -> None:
    """Run the executor with the store, telemetry and a progress bar; report; exit 1 if stopped or nothing answered."""
    import asyncio

    from escalade.cascade import ProgressiveExecutor, new_run_id
    from escalade.cli.running import (
        ProgressListener,
        RunSetup,
        approver,
        exit_for,
        interrupted,
        progress_bar,
        until_terminated,
    )
    from escalade.reporting import ProgressiveTelemetry
    from escalade.routing import TriggerDetector
    from escalade.store import TriggerOutcomeRecorder

    plan = setup.plan
    info = {"dataset": dataset_name, "split": split, "scorer": scorer_name, "offline_scorer": setup.offline_scorer}
    progress = progress_bar(json_out=json_out)
    listeners: list[RunListener] = [
        store,
        RunSetup(store, info, plan.notes),
        ProgressiveTelemetry(store, workflow_name=setup.workflow),
        ProgressListener(progress, len(plan.items)),
    ]
    if not setup.offline_scorer:  # trigger outcomes from the run's own verdicts, never from recorded grades
        listeners.append(TriggerOutcomeRecorder(store, detector=TriggerDetector()))
    executor = ProgressiveExecutor(
        plan.config,
        setup.provider,
        scorer=setup.scorer,
        approval=approver(yes, progress),
        listeners=listeners,
        baseline=setup.baseline,
        workflow=setup.workflow,
        ledger=setup.ledger,
        workspace_budget=setup.workspace_budget,
        model_order=setup.model_order,
        call_observer=setup.call_observer,
        teams=setup.teams,
    )
    run_id = new_run_id(setup.workflow)
    stopped: RunStoppedError | None = None
    try:
        with progress:
            result = asyncio.run(until_terminated(executor.run(plan.items, run_id=run_id)))
    except RunStoppedError as exc:
        if exc.partial_result is None:
            raise
        stopped, result = exc, exc.partial_result
    except (KeyboardInterrupt, asyncio.CancelledError) as interrupt:
        raise interrupted(store, run_id, interrupt) from None
    metrics = {**info, **setup.metrics(result)}
    store.set_metrics(run_id, metrics, notes=plan.notes)
    result = dataclasses.replace(result, metrics=metrics, notes=plan.notes)
    if json_out:
        print_json(json.dumps(result.to_dict(include_items=False)))
    else:
        if setup.offline_scorer:
            out_console().print(
                f"OFFLINE scorer {scorer_name!r}: reads recorded grades; a ceiling, not a real policy.", markup=False
            )
        out_console().print(result.generate_report(), markup=False)
    exit_for(result, stopped)
