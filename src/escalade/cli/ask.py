"""``escalade ask``: one prompt through the whole pipeline, live or over a recorded dataset row.

Live (``--provider openai|anthropic``) it uses the workspace's key, ledger and budget, as ``escalade run``
does; with ``--replay DATASET --row ID`` the replay provider answers from that row's recorded
outcomes, so a trace can be seen with no key and no spend.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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

if TYPE_CHECKING:
    from escalade.ladder import EscalationConfig
    from escalade.pipeline import Escalade, GenerateResult
    from escalade.quality import ScorerLike
    from escalade.replay import BenchmarkDataset, BenchmarkRow
    from escalade.routing import Classification, TierClassifier
    from escalade.store import SqlStore

__all__ = ["ask_command"]


def _find_row(dataset: BenchmarkDataset, row_id: str) -> tuple[str, BenchmarkRow]:
    """The split and row whose key (or id) is ``row_id``, looked for in every split."""
    for split in dataset.splits:
        for row in dataset.rows(split):
            if row_id in (row.key, row.id):
                return split, row
    raise fail(f"dataset {dataset.name!r} has no row {row_id!r} in any split ({', '.join(dataset.splits)})")


def _classifier(router: Path | None) -> TierClassifier | None:
    if router is None:
        return None
    from escalade.routing import LearnedClassifier
    from escalade.routing.learned import load_router

    artifact = load_router(router)
    return LearnedClassifier(artifact.router, artifact.cutoff)


class _PolicyStart:
    """The start a learned policy gave the row, as the router's classification (with where it came from)."""

    def __init__(self, rank: int, reason: str) -> None:
        self.rank, self.reason = rank, reason

    def classify(self, description: str, *, tiers: int) -> Classification:
        from escalade.routing import Classification

        return Classification(rank=min(self.rank, tiers - 1), confidence=1.0, reasons=(self.reason,))


def _replay(
    dataset_dir: Path,
    row_id: str,
    cfg: EscalationConfig,
    scorer: str | None,
    store: SqlStore,
    workspace: str,
    policy_options: PolicyOptions,
) -> tuple[Escalade, BenchmarkRow]:
    """An Escalade over one recorded row: no key, no real spend (its own ledger in memory).

    With learned-policy options, the policy decides the row (its start tier and its judge), fitted on
    rows other than the decided ones exactly as ``escalade run`` fits it.
    """
    from escalade.budget import MemoryLedger
    from escalade.pipeline import Escalade
    from escalade.plugins import ScorerSetup, make_scorer
    from escalade.replay import ReplayProvider, load_dataset, plan_replay

    dataset = load_dataset(dataset_dir)
    split, row = _find_row(dataset, row_id)
    router: TierClassifier | None = None
    judge: ScorerLike | None = None
    if policy_options.wanted:
        if scorer is not None:
            raise fail("--scorer and a learned policy (--router/--verifier/--fit-on/--cross-fit) both judge; give one")
        policy = learned_policy(dataset, split, policy_options, None)
        plan = plan_replay(dataset, split, policy.config(cfg), limit=None)
        item = next(i for i in plan.items if i.id == row.key)
        start = policy.start_tier(item)
        router = _PolicyStart(plan.config.tiers.index_of(start), f"learned policy: {policy.provenance.describe()}")
        judge = policy.scorer
    else:
        plan = plan_replay(dataset, split, cfg, limit=None)
        if scorer is not None:
            judge = make_scorer(scorer, ScorerSetup(task_kind=dataset.task_kind), rows=[row]).scorer
    escalade = Escalade(
        store,
        workspace,
        plan.config,
        provider=ReplayProvider([row]),
        scorer=judge,
        router=router,
        ledger=MemoryLedger(),
        task_kind=dataset.task_kind,
    )
    return escalade, row


def _trace(result: GenerateResult) -> list[str]:
    """The short trace printed under the answer."""
    climbed = f"{result.tier_started} → {result.tier_ended}" if result.tier_ended != result.tier_started else None
    lines = [
        f"tier: {climbed or result.tier_ended or result.tier_started} ({result.status})",
        f"model: {result.model or 'none'} (tried: {', '.join(result.models_tried) or 'none'})",
        f"cost: ${result.cost_usd:.6f} in {result.latency_s:.2f} s",
        *(f"routing: {reason}" for reason in result.routing.reasons),
        *(f"escalated {e.from_tier} → {e.to_tier}: {e.reason}" for e in result.escalations),
    ]
    lines += [f"tool call: {call.name}({call.arguments})" for call in result.tool_calls]
    return lines


@handle_errors
def ask_command(
    prompt: Annotated[str | None, typer.Argument(help="The prompt (with --replay: default the row's prompt).")] = None,
    provider: Annotated[
        str | None, typer.Option(help="openai or anthropic: a live call with the workspace's key.")
    ] = None,
    replay: Annotated[
        Path | None, typer.Option("--replay", help="Answer from a recorded dataset's row instead (no key).")
    ] = None,
    row: Annotated[str | None, typer.Option("--row", help="With --replay: the id of the row to answer.")] = None,
    workspace: Annotated[str | None, typer.Option(help="Workspace whose key, budget and preferences apply.")] = None,
    tier: Annotated[str | None, typer.Option(help="Start on this tier, whatever the routing says.")] = None,
    file: Annotated[
        list[Path] | None, typer.Option("--file", help="A file to show the model and route by (repeatable).")
    ] = None,
    task_type: Annotated[str | None, typer.Option(help="Kind of work: implementation, bugfix, docs, ...")] = None,
    system: Annotated[str | None, typer.Option(help="System instructions.")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Cap on the answer's tokens.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML config file with the ladder.")] = None,
    router: RouterOption = None,
    verifier: VerifierOption = None,
    fit_on: FitOnOption = None,
    cross_fit: CrossFitOption = None,
    target_quality: TargetQualityOption = 0.95,
    certify: CertifyOption = False,
    delta: DeltaOption = 0.05,
    scorer: Annotated[
        str | None,
        typer.Option(
            help="Scorer plugin: consensus, self-consistency, oracle with --replay (reads the row's grades); "
            "default: the workspace's quality policy, else consensus."
        ),
    ] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="The provider's API at another address.")] = None,
    stream: Annotated[bool, typer.Option("--stream", help="Stream the live answer.")] = False,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds a live call may take.")] = None,
    unknown_prices: Annotated[
        str | None, typer.Option("--unknown-prices", help="fail (default) or allow models with no known price.")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Answer one prompt through routing, the budget and the ladder; print the answer and its trace."""
    from escalade.ladder import load_config

    if (provider is None) == (replay is None):
        raise fail("give --provider openai|anthropic for a live call, or --replay DATASET --row ID (no key)")
    if replay is not None and row is None:
        raise fail("--replay needs --row ID: the recorded row to answer")
    if row is not None and replay is None:
        raise fail("--row goes with --replay DATASET")
    if max_tokens is not None and max_tokens < 1:
        raise fail(f"--max-tokens must be at least 1, got {max_tokens}")
    paths = file or []
    if missing := [p for p in paths if not p.is_file()]:
        raise fail(f"file not found: {missing[0]}")
    policy = PolicyOptions(
        router=router,
        verifier=verifier,
        fit_on=fit_on,
        cross_fit=cross_fit,
        target_quality=target_quality,
        certify=certify,
        delta=delta,
    )
    if replay is None and (fit_on is not None or cross_fit is not None):
        raise fail("--fit-on/--cross-fit fit on a recorded dataset: they go with --replay DATASET --row ID")
    if verifier is not None and scorer is not None:
        raise fail("--scorer and --verifier both judge the answer; give one")
    cfg = load_config(config)
    store = open_store(db)
    name = workspace or "default"
    if replay is not None and row is not None:
        escalade, recorded = _replay(replay, row, cfg, scorer, store, name, policy)
        prompt = prompt or recorded.prompt
        request_id: str | None = recorded.key
    else:
        common: dict[str, Any] = {"router": _classifier(router)}
        common["scorer"] = _live_judge(scorer, verifier)
        escalade = _live(str(provider), cfg, store, name, base_url, stream, timeout, unknown_prices, common)
        request_id = None
    if not prompt:
        raise fail("the prompt is empty")
    conversation: Any = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    with escalade:
        result = escalade.generate(
            conversation if system else prompt,
            task_type=task_type,
            tier=tier,
            files=paths,
            max_tokens=max_tokens,
            request_id=request_id,
        )
    _report(result, json_out)
    if result.text is None and not result.tool_calls:
        raise typer.Exit(1)


def _live(
    provider: str,
    cfg: EscalationConfig,
    store: SqlStore,
    workspace: str,
    base_url: str | None,
    stream: bool,
    timeout: float | None,
    unknown_prices: str | None,
    common: dict[str, Any],
) -> Escalade:
    """An Escalade over the live provider, with the workspace's key, ledger, budget and a cache-aware router."""
    from escalade.cli.live import check_live_options, live_resources
    from escalade.pipeline import Escalade

    live = check_live_options(
        provider,
        offline="replay",
        workspace=workspace,
        base_url=base_url,
        stream=stream,
        cache_prompts=False,
        timeout=timeout,
        unknown_prices=unknown_prices,
    )
    if live is None:
        raise fail("--provider replay is --replay DATASET --row ID")
    used = live_resources(store, live, expected_output_tokens=cfg.max_output_tokens // 4)
    return Escalade(
        store,
        workspace,
        cfg,
        provider=used.provider,
        ledger=used.ledger,
        workspace_budget=used.workspace_budget,
        cache_router=used.router,
        **common,
    )


def _live_judge(scorer: str | None, verifier: Path | None) -> ScorerLike | None:
    """The live request's judge: a scorer plugin, the verifier artifact, or (``None``) the workspace's policy."""
    from escalade.plugins import ScorerSetup, make_scorer

    if verifier is not None:
        return make_scorer("verifier", ScorerSetup(options={"artifact": str(verifier)})).scorer
    return make_scorer(scorer, ScorerSetup()).scorer if scorer is not None else None


def _report(result: GenerateResult, json_out: bool) -> None:
    if json_out:
        print_json(json.dumps(result.to_dict()))
        return
    console = out_console()
    console.print(result.text if result.text is not None else "(no answer)", markup=False)
    console.print("", markup=False)
    for line in _trace(result):
        console.print(line, markup=False, highlight=False)
