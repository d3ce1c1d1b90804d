"""``escalade decide``, ``escalade outcome`` and ``escalade audit``: human escalation from the shell.

``decide`` reads one JSON decision per line on stdin and writes one JSON answer per line (its ``id``
echoed as given, a string or an integer, in answers and error lines alike)::

    {"id": "d1", "escalate": true, "confidence": 0.52, "priority": "high", "type": "deployment",
     "reasons": ["rule production_deployment (high): ..."], "rule_hits": ["production_deployment"]}

A bad line is answered with ``{"id": ..., "line": N, "error": "..."}`` and the next line is read:
nothing stored before it is lost. ``outcome`` reads what happened afterwards in the same way;
``audit verify`` checks the hash chain and names the first entry that was edited, removed or moved.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from rich.markup import escape

from escalade.cli.common import (
    DEFAULT_PROFILE,
    DbOption,
    JsonOption,
    err_console,
    fail,
    handle_errors,
    open_store,
    out_console,
    print_json,
)
from escalade.exceptions import ConfigError, DecisionError, EscaladeError

if TYPE_CHECKING:
    from escalade.autonomy import (
        CalibrationRecord,
        Decision,
        DecisionContext,
        EscalationEngine,
        EscalationMetrics,
        EscalationResult,
        Labelled,
    )
    from escalade.store import SqlStore

__all__ = ["answer_each", "decide_command", "outcome_command"]

WorkspaceOption = Annotated[str, typer.Option(help="Workspace whose history, thresholds and audit trail are used.")]
ProfileOption = Annotated[
    str,
    typer.Option(
        help="Automation profile: manual, supervised, cautious, balanced, confident, trusting, "
        "autonomous, full_autonomy, or one from --profiles."
    ),
]
RulesOption = Annotated[
    list[Path] | None,
    typer.Option("--rules", help="Rule file (TOML or YAML) that adds, replaces or disables rules; repeatable."),
]
ProfilesOption = Annotated[
    Path | None, typer.Option("--profiles", help=escape("TOML file with [profiles.NAME] tables."))
]


def _lines(stream: TextIO) -> Iterator[tuple[int, object]]:
    """``(line number, parsed object or why it is not one)`` for each non-blank line."""
    from escalade.autonomy import Unreadable

    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield number, Unreadable(f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        except (ValueError, RecursionError) as exc:  # a number too long, nesting too deep
            yield number, Unreadable(f"not readable JSON: {exc or type(exc).__name__}")
            continue
        yield (
            number,
            value
            if isinstance(value, dict)
            else Unreadable(f"a line must hold a JSON object, got {type(value).__name__}"),
        )


def answer_each(
    stream: TextIO, answer: Callable[[Any], dict[str, Any]], *, errors: tuple[type[Exception], ...] = ()
) -> tuple[int, int]:
    """Answer every JSON line of ``stream``, printing each answer as it comes; a line whose answer raises
    a :class:`DecisionError` (or one of ``errors``) gets its error line. Returns (answered, failed)."""
    from escalade.autonomy import answer_items

    answered = failed = 0
    for line in answer_items(_lines(stream), answer, errors=errors):
        print_json(json.dumps(line))
        sys.stdout.flush()
        if "error" in line:
            failed += 1
        else:
            answered += 1
    return answered, failed


def _engine(
    db: str | None,
    profile: str,
    rules: list[Path] | None,
    profiles_file: Path | None,
    target_rate: float,
    rate_control: bool,
    audit_rate: float,
) -> tuple[SqlStore, EscalationEngine]:
    from escalade.autonomy import EscalationEngine, RateControl, load_profiles, load_rules
    from escalade.store import SqlAutonomyStore

    store = open_store(db)
    try:
        profiles = load_profiles(profiles_file)
        if profile not in profiles:
            raise ConfigError(f"unknown profile {profile!r}; use {', '.join(profiles)}", field="--profile")
        engine = EscalationEngine(
            SqlAutonomyStore(store.engine),
            profile=profile,
            profiles=profiles,
            rules=load_rules(rules or None),
            rate=RateControl(target=target_rate, enabled=rate_control),
            audit_rate=audit_rate,
        )
    except EscaladeError:
        store.close()
        raise
    return store, engine


def _labelled(path: Path, engine: EscalationEngine, workspace: str) -> list[Labelled]:
    """Labelled decisions from a JSON-lines file: decision fields plus ``needs_person`` (or ``escalate``)."""
    from escalade.autonomy import DecisionContext, Labelled, parse_decision

    found = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read labelled decisions: {exc}", source=str(path)) from None
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            label = item.pop("needs_person", item.pop("escalate", None))
        except (ValueError, RecursionError, AttributeError):
            raise ConfigError(f"line {number}: not a JSON object", source=str(path)) from None
        if not isinstance(label, bool):
            raise ConfigError(
                f"line {number}: needs_person must be true or false", source=str(path), field="needs_person"
            )
        try:
            decision = parse_decision(item)
        except DecisionError as exc:
            raise ConfigError(f"line {number}: {exc}", source=str(path)) from None
        seen = engine.preview(decision, DecisionContext(workspace=workspace))
        if not seen.forced:  # escalated whatever the threshold: it cannot inform one
            found.append(Labelled(seen.type.value, seen.confidence, label))
    return found


@handle_errors
def decide_command(
    profile: ProfileOption = DEFAULT_PROFILE,
    rules: RulesOption = None,
    profiles: ProfilesOption = None,
    workspace: WorkspaceOption = "default",
    agent: Annotated[str | None, typer.Option(help="The agent proposing the actions (recorded).")] = None,
    details: Annotated[
        bool, typer.Option("--details", help="Answer with everything: factors, threshold, classification.")
    ] = False,
    stats: Annotated[bool, typer.Option("--stats", help="Print the workspace's escalation metrics instead.")] = False,
    calibrate: Annotated[
        bool, typer.Option("--calibrate", help="Certify confidence floors from labelled decisions.")
    ] = False,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            help="With --calibrate: labelled decisions (JSON lines with needs_person); "
            "default: the workspace's audited sample.",
        ),
    ] = None,
    alpha: Annotated[
        float, typer.Option(help="With --calibrate: the error rate allowed among auto-approved decisions.")
    ] = 0.05,
    delta: Annotated[float, typer.Option(help="With --calibrate: the chance the guarantee may fail.")] = 0.1,
    pooled: Annotated[
        bool, typer.Option("--pooled", help="With --calibrate: one floor for every type (needs fewer labels).")
    ] = False,
    calibrations: Annotated[
        bool, typer.Option("--calibrations", help="List the workspace's calibrations, the one in force first.")
    ] = False,
    remove_calibration: Annotated[
        str | None,
        typer.Option("--remove-calibration", metavar="ID", help="Remove a calibration (see --calibrations)."),
    ] = None,
    target_rate: Annotated[float, typer.Option("--target-rate", help="Escalation rate the thresholds track.")] = 0.05,
    rate_control: Annotated[
        bool, typer.Option("--rate-control/--no-rate-control", help="Let thresholds track --target-rate.")
    ] = True,
    audit_rate: Annotated[
        float, typer.Option("--audit-rate", help="Share of decisions drawn for the audit sample.")
    ] = 0.05,
    inbox: Annotated[
        bool, typer.Option("--inbox/--no-inbox", help="Put each escalated decision in the inbox (its inbox_id).")
    ] = True,
    assign: Annotated[
        list[str] | None,
        typer.Option("--assign", metavar="NAME", help="Who may answer escalated decisions (repeat; role:NAME)."),
    ] = None,
    inbox_ttl: Annotated[
        float | None, typer.Option("--inbox-ttl", metavar="SECONDS", help="Escalated decisions expire after this.")
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(
            "--person", metavar="NAME", help="Who answers: their learned preferences may approve (default --assign)."
        ),
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Read decisions as JSON lines on stdin; write one JSON answer per line (see docs/autonomy.md)."""
    from escalade.autonomy import DecisionContext

    modes = {
        "--stats": stats,
        "--calibrate": calibrate,
        "--calibrations": calibrations,
        "--remove-calibration": remove_calibration is not None,
    }
    _check_options({"--target-rate": target_rate, "--audit-rate": audit_rate}, modes)
    if inbox_ttl is not None and not 0 < inbox_ttl <= MAX_INBOX_TTL_S:
        raise fail(f"--inbox-ttl must be in (0, {MAX_INBOX_TTL_S:g}] seconds, got {inbox_ttl}")
    person = _assignees([person], what="--person")[0] if person is not None else None
    assign = _assignees(assign or ([person] if person else []), what="--assign")
    context = DecisionContext(workspace=workspace, agent=agent)  # checks the names before anything is read
    store, engine = _engine(db, profile, rules, profiles, target_rate, rate_control, audit_rate)
    if person is not None:
        from escalade.inbox import PreferenceModel

        engine.preferences = PreferenceModel(store.inbox)
    with store:
        if stats:
            _show_stats(engine, workspace, target_rate, json_out)
        elif calibrate:
            _calibrate(engine, workspace, labels, alpha=alpha, delta=delta, pooled=pooled, json_out=json_out)
        elif calibrations:
            _list_calibrations(engine, workspace, json_out)
        elif remove_calibration is not None:
            _remove_calibration(engine, remove_calibration, workspace, json_out)
        else:
            waiting = _inbox_of(store, engine, context.workspace, assign or [], inbox_ttl) if inbox else None
            _decide_lines(engine, context, details, waiting, person)


#: Longest an escalated decision may wait in the inbox (a year).
MAX_INBOX_TTL_S = 366 * 86_400.0


def _assignees(names: list[str], *, what: str) -> list[str]:
    """The ``--assign`` (or ``--person``) names, checked before anything is read."""
    from escalade.inbox._items import check_name

    return [check_name(n, what=what) for n in names]


def _check_options(rates: Mapping[str, float], modes: Mapping[str, bool]) -> None:
    """Refuse a rate outside [0, 1] or several modes at once, before anything is opened."""
    for flag, rate in rates.items():
        if not 0 <= rate <= 1:
            raise fail(f"{flag} must be in [0, 1], got {rate}")
    chosen = [flag for flag, on in modes.items() if on]
    if len(chosen) > 1:
        raise fail(f"use one of {', '.join(chosen)}, not several at once")


def _show_stats(engine: EscalationEngine, workspace: str, target_rate: float, json_out: bool) -> None:
    """``--stats``: the workspace's escalation metrics, measured against ``target_rate``."""
    from escalade.autonomy import escalation_metrics

    store = engine.store
    metrics = escalation_metrics(store.decisions(workspace), target_rate=target_rate, offsets=store.offsets(workspace))
    _print_metrics(metrics, json_out)


def _calibrate(
    engine: EscalationEngine,
    workspace: str,
    labels: Path | None,
    *,
    alpha: float,
    delta: float,
    pooled: bool,
    json_out: bool,
) -> None:
    """``--calibrate``: certify confidence floors from ``labels`` (default: the workspace's audited sample)."""
    given = _labelled(labels, engine, workspace) if labels else None
    record = engine.calibrate(alpha=alpha, delta=delta, workspace=workspace, labelled=given, pooled=pooled)
    _print_calibration(record, json_out)


def _list_calibrations(engine: EscalationEngine, workspace: str, json_out: bool) -> None:
    """``--calibrations``: the workspace's calibrations, the one in force first."""
    _print_calibrations(engine.calibrations(workspace), workspace, json_out)


def _remove_calibration(engine: EscalationEngine, calibration_id: str, workspace: str, json_out: bool) -> None:
    """``--remove-calibration``: remove one and say which calibration is in force now."""
    removed = engine.remove_calibration(calibration_id, workspace=workspace)
    _print_removed(removed, engine.store.calibration(workspace), json_out)


def _inbox_of(
    store: SqlStore, engine: EscalationEngine, workspace: str, assignees: list[str], ttl_s: float | None
) -> Callable[[EscalationResult, Decision], str]:
    """What puts an escalated decision in the inbox of ``workspace`` and gives its inbox id."""
    from escalade.inbox import Inbox

    inbox = Inbox(store.inbox, engine)

    def put(result: EscalationResult, decision: Decision) -> str:
        return inbox.escalated(result, decision, workspace=workspace, assignees=assignees, ttl_s=ttl_s).id

    return put


def _decide_lines(
    engine: EscalationEngine,
    context: DecisionContext,
    details: bool,
    inbox: Callable[[EscalationResult, Decision], str] | None,
    person: str | None,
) -> None:
    """The default mode: one answer line per decision line on stdin (``details``: everything); escalated
    ones go in the inbox, when ``inbox`` is given; ``person``'s learned preferences may approve."""
    from escalade.autonomy import decision_answer
    from escalade.exceptions import InboxError

    _, failed = answer_each(
        sys.stdin,
        lambda item: decision_answer(engine, item, context, details=details, on_escalated=inbox, person=person),
        errors=(InboxError,),
    )
    if failed:
        err_console().print(f"{failed} line(s) could not be decided (see their error lines)", markup=False)


def _print_calibration(record: CalibrationRecord, json_out: bool) -> None:
    if json_out:
        print_json(json.dumps(record.to_dict()))
        return
    out_console().print(
        f"calibration {record.id}: error among auto-approved <= {record.alpha:g} with probability"
        f" >= {1 - record.delta:g}",
        markup=False,
    )
    for name, floor in record.floors.items():
        shown = "escalate all" if floor is None else f"floor {floor:.4f}"
        out_console().print(
            f"  {name:14} {shown:16} {record.labelled[name]:5d} labelled  {record.messages[name]}", markup=False
        )
    out_console().print(f"undo: escalade decide --remove-calibration {record.id}", markup=False)


def _summary(record: CalibrationRecord) -> str:
    floors = ", ".join(f"{t} {f:.4f}" for t, f in record.floors.items() if f is not None) or "none"
    held = [t for t, f in record.floors.items() if f is None]
    return f"floors: {floors}" + (f"; escalates every decision of {len(held)} type(s)" if held else "")


def _print_calibrations(records: list[CalibrationRecord], workspace: str, json_out: bool) -> None:
    if json_out:
        listed = [{**r.to_dict(), "in_force": i == 0} for i, r in enumerate(records)]
        print_json(json.dumps({"workspace": workspace, "calibrations": listed}))
        return
    if not records:
        out_console().print(
            f"no calibrations in workspace {workspace!r}: thresholds come from the profile, learning and rate control",
            markup=False,
        )
    for i, r in enumerate(records):
        out_console().print(
            f"{r.id}  {r.created_at:%Y-%m-%d %H:%M:%S}  alpha {r.alpha:g}  delta {r.delta:g}  {_summary(r)}"
            + ("  (in force)" if i == 0 else ""),
            markup=False,
        )


def _print_removed(removed: CalibrationRecord, now: CalibrationRecord | None, json_out: bool) -> None:
    if json_out:
        print_json(json.dumps({"removed": removed.to_dict(), "in_force": now.id if now else None}))
        return
    after = f"calibration {now.id} is in force now" if now else "no calibration is in force now (profile thresholds)"
    out_console().print(f"removed calibration {removed.id}: {after}", markup=False)


@handle_errors
def outcome_command(
    workspace: WorkspaceOption = "default",
    db: DbOption = None,
) -> None:
    """Read outcomes as JSON lines on stdin (id plus success, response, response_time_s, should_have_escalated)."""
    from escalade.autonomy import DecisionContext, outcome_answer

    DecisionContext(workspace=workspace)  # checks the name before anything is read
    store, engine = _engine(db, DEFAULT_PROFILE, None, None, 0.05, True, 0.0)
    with store:
        answer_each(sys.stdin, lambda item: outcome_answer(engine, item, workspace=workspace))


def _print_metrics(m: EscalationMetrics, json_out: bool) -> None:
    if json_out:
        print_json(json.dumps(m.to_dict()))
        return
    console = out_console()

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    target = f" (target {pct(m.target_rate)})" if m.target_rate is not None else ""
    console.print(
        f"decisions: {m.decisions}   escalated: {m.escalated} = {pct(m.escalation_rate)}{target}   "
        f"rule-forced: {m.rule_forced}   risk accepted: {m.risk_accepted}",
        markup=False,
    )
    console.print(
        f"decided by the threshold: {m.threshold_decided}, escalated {pct(m.threshold_escalation_rate)}{target} "
        "(rules and criticality force the others)",
        markup=False,
    )
    console.print(
        f"with outcome: {m.with_outcome}   override rate: {pct(m.override_rate)} of {m.answered} answered", markup=False
    )
    console.print(
        f"false positives: {pct(m.false_positive_rate)}   false negatives: {pct(m.false_negative_rate)}   "
        f"unnecessary escalations: {pct(m.unnecessary_share_of_escalations)}",
        markup=False,
    )
    console.print(
        f"error among auto-approved: {pct(m.auto_approved_error_rate)} (upper bound "
        f"{pct(m.auto_approved_error_upper)}); audited sample: {pct(m.audited_error_rate)} of "
        f"{m.audited_sample}",
        markup=False,
    )
    console.print(
        f"trend: {m.trend}" + (f" ({', '.join(pct(r) for r in m.windows)})" if m.windows else ""), markup=False
    )
    for title, groups in (("by type", m.by_type), ("by profile", m.by_profile)):
        shown = ", ".join(f"{k} {pct(v['rate'])} of {int(v['decisions'])}" for k, v in groups.items())
        console.print(f"{title}: {shown or 'none'}", markup=False)
    if m.offsets:
        console.print(
            "threshold offsets: " + ", ".join(f"{k} {v:+.3f}" for k, v in sorted(m.offsets.items())), markup=False
        )
