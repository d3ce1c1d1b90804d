"""``ProgressiveTestGenWorkflow``: pytest tests for each function and class of a file, cheap tier first.

Each public top-level function or class of the target is an item. A tier's model (or team) writes a
pytest file for it; the file is run in the :class:`~escalade.testgen._sandbox.Sandbox` against the
target, and the signals of the Composite Quality Score are *measured* from that run (pass rate,
coverage of the item's own lines and branches, assertion quality, syntax, the model's stated
confidence; see :mod:`escalade.testgen._measure`). Items whose CQS is below the tier's threshold climb;
the others keep their tests. The tests that passed are written to the output folder, with a
``conftest.py`` that lets plain ``pytest`` import the target.

Tests whose sandbox run cannot be trusted (it was refused something, timed out, crashed) are no
answer: the scorer raises :class:`~escalade.exceptions.UntrustedRunError`, so the cascade keeps the
attempt as a failed one (cause ``untrusted sandbox run``) and tries the next model, or climbs. An
item that no tier answered with trusted tests ends ``unanswered``, and a run where none was is
``failed``: in the result, the store and every report alike.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from escalade.cascade import TESTGEN_WORKFLOW, ItemResult, ProgressiveWorkflow, ProgressiveWorkflowResult, WorkItem
from escalade.exceptions import ConfigError, RunStoppedError, UntrustedRunError
from escalade.ladder import Ladder
from escalade.quality import FailureAnalysis, ScoreResult, ScoringContext
from escalade.testgen._answers import RecordedAnswers
from escalade.testgen._measure import answer_code, confidence_in, count_kept, keep_passing, measure, tampering
from escalade.testgen._sandbox import Sandbox, SandboxRun
from escalade.testgen._targets import TargetModule, TestTarget, find_targets

__all__ = [
    "KeptTests",
    "Measurement",
    "ProgressiveTestGenWorkflow",
    "TestGenResult",
    "check_out_dir",
    "prompt_for",
    "sandbox_notes",
]

_PROMPT = """Write pytest tests for the {kind} `{name}` of the Python module `{module}` shown below.

- Import it with `from {module} import {name}`; the module is importable as `{module}`.
- Cover normal use, edge cases and the errors it raises; assert on exact results.
- Reply with one ```python block holding the whole test file. After the block, add one line
  `# confidence: <a number from 0 to 1>`: how sure you are that the tests are right and pass.

Module `{module}`:
```python
{source}
```
"""


def prompt_for(module: TargetModule, target: TestTarget) -> str:
    """The task given to the models for ``target``."""
    return _PROMPT.format(kind=target.kind, name=target.name, module=module.module, source=module.source.rstrip())


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """One attempt's test file and what running it showed."""

    #: The test file as answered.
    code: str
    #: The sandbox run (``None`` when the file did not parse, so it was not run).
    run: SandboxRun | None
    analysis: FailureAnalysis


@dataclass(frozen=True, kw_only=True)
class KeptTests:
    """The passing tests kept for one item."""

    item_id: str
    tier: str
    model: str
    path: Path
    #: Tests kept, and tests the final answer had.
    kept: int
    total: int


@dataclass(frozen=True, kw_only=True)
class TestGenResult(ProgressiveWorkflowResult):
    """A test-generation run: the cascade's result, plus the tests kept and where they were written."""

    __test__ = False

    target_file: str = ""
    out_dir: str | None = None
    kept: tuple[KeptTests, ...] = ()
    #: Sandbox runs (of any attempt) that could not be trusted, so their tests were neither believed nor kept.
    untrusted_runs: int = 0

    def tier_progression(self) -> list[str]:
        """Per item, each tier's best CQS and whether it climbed (the seed's report)."""
        lines = []
        for item in self.items:
            lines.append(f"{item.item_id}:")
            for tier in item.tiers:
                scores = [f"{a.cqs:.1f} ({a.model})" for a in tier.attempts if a.cqs is not None]
                lines.append(f"  {tier.tier}: CQS={', '.join(scores) or 'no answer'}")
                if tier.escalated:
                    lines.append(f"    → Escalated: {tier.escalation_reason}")
        return lines

    def generate_report(self) -> str:
        kept = [f"kept {k.kept}/{k.total} tests of {k.item_id} ({k.tier}, {k.model}) in {k.path}" for k in self.kept]
        return "\n".join([super().generate_report(), "", "Tier progression:", *self.tier_progression(), "", *kept])

    def to_dict(self, *, include_items: bool = True) -> dict[str, Any]:
        kept = [{**dataclasses.asdict(k), "path": str(k.path)} for k in self.kept]
        return {
            **super().to_dict(include_items=include_items),
            "target_file": self.target_file,
            "kept": kept,
            "untrusted_runs": self.untrusted_runs,
        }


class ProgressiveTestGenWorkflow(ProgressiveWorkflow):
    """Tests for a Python file, cheap tier first; see the module docstring.

    >>> ProgressiveTestGenWorkflow.workflow_name
    'test-gen'
    """

    __test__ = False
    workflow_name = TESTGEN_WORKFLOW

    def __init__(self, *args: Any, sandbox: Sandbox | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Where generated tests run.
        self.sandbox = sandbox or Sandbox()
        self._module: TargetModule | None = None
        self._measured: dict[tuple[str, str, int], Measurement] = {}
        self._running = False

    def execute(  # returns the richer TestGenResult
        self,
        items: Iterable[WorkItem] | None = None,
        *,
        target_file: str | Path | None = None,
        out_dir: str | Path | None = None,
        **inputs: Any,
    ) -> TestGenResult:
        """Generate, run and keep tests for ``target_file``; the passing ones go to ``out_dir``."""
        return asyncio.run(self.execute_async(items, target_file=target_file, out_dir=out_dir, **inputs))

    async def execute_async(
        self,
        items: Iterable[WorkItem] | None = None,
        *,
        run_id: str | None = None,
        target_file: str | Path | None = None,
        out_dir: str | Path | None = None,
        **inputs: Any,
    ) -> TestGenResult:
        if items is not None or inputs or target_file is None:
            raise ConfigError("test generation takes target_file=... (and out_dir=...), not items", field="target_file")
        if self._running:
            raise ConfigError(
                "this workflow is already generating tests: use one workflow per run", field="target_file"
            )
        module = find_targets(Path(target_file))
        if out_dir is not None:
            check_out_dir(Path(out_dir))  # before anything is spent
        self.sandbox.check(module.path)  # isolated as required, and the sources beside the target within bounds
        self._module, self._measured, self._running = module, {}, True
        if not any(tier.models for tier in self.config.tiers) and isinstance(self.provider, RecordedAnswers):
            self.config = self.config.replace(tiers=_recorded_ladder(self.config.tiers, self.provider))
        work = [WorkItem(id=t.name, prompt=prompt_for(module, t), task_kind="code") for t in module.targets]
        try:
            result = await self.executor().run(work, run_id=run_id)
        except RunStoppedError as exc:
            partial = exc.partial_result
            if partial is None:
                raise
            raise type(exc)(str(exc), partial_result=self._result(partial, out_dir)) from exc
        finally:
            self._running = False
        return self._result(result, out_dir)

    def _analyze_quality(self, context: ScoringContext) -> ScoreResult:
        return self._measure(context)

    async def _measure(self, context: ScoringContext) -> FailureAnalysis:
        module = self._module
        assert module is not None  # set by execute
        target = next(t for t in module.targets if t.name == context.item_id)
        text = context.completion.text
        code = answer_code(text)
        confidence = context.completion.confidence
        confidence = confidence_in(text) if confidence is None else confidence
        try:
            tree = ast.parse(code)
        except SyntaxError:
            run = None
        else:  # a file that would reach into the measurement is not run at all
            run = None if tampering(tree) else await self.sandbox.run(module.path, code)
        analysis = measure(target, code, run, confidence=confidence)
        self._measured[(context.item_id, context.tier, context.attempt)] = Measurement(
            code=code, run=run, analysis=analysis
        )
        if run is not None and not run.trusted:  # its tests are neither believed nor kept: no answer
            why = "; ".join(run.problems)  # fixed words only, never text the run chose: the error is stored
            raise UntrustedRunError(f"the sandbox run of its tests is not trusted ({why})", analysis=analysis)
        return analysis

    def measurement(self, item_id: str, tier: str, attempt: int) -> Measurement | None:
        """What running an attempt's tests showed (after :meth:`execute`)."""
        return self._measured.get((item_id, tier, attempt))

    def _result(self, result: ProgressiveWorkflowResult, out_dir: str | Path | None) -> TestGenResult:
        module = self._module
        assert module is not None
        kept = _write_kept(module, result.items, self._measured, Path(out_dir)) if out_dir is not None else ()
        fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
        runs = [m.run for m in self._measured.values() if m.run]
        layers = [layer for run in runs for layer in run.isolation]
        lacking = [need for run in runs for need in run.not_isolated]
        fields["notes"] = (*result.notes, *sandbox_notes(layers, lacking))
        untrusted = sum(1 for run in runs if not run.trusted)
        return TestGenResult(
            **fields,
            target_file=str(module.path),
            out_dir=None if out_dir is None else str(out_dir),
            kept=kept,
            untrusted_runs=untrusted,
        )


def sandbox_notes(layers: Iterable[str], lacking: Iterable[str]) -> tuple[str, ...]:
    """A run's notes on its sandbox: the isolation ``layers`` it had, and the requirements it ran ``lacking``.

    >>> sandbox_notes(["limits", "audit hook", "limits"], ["no seccomp filter"])
    ('sandbox: limits, audit hook', 'sandbox NOT ISOLATED as required: no seccomp filter')
    """
    had, missing = dict.fromkeys(layers), dict.fromkeys(lacking)
    notes = [f"sandbox: {', '.join(had)}"] if had else []
    notes += [f"sandbox NOT ISOLATED as required: {'; '.join(missing)}"] if missing else []
    return tuple(notes)


def _recorded_ladder(ladder: Ladder, answers: RecordedAnswers) -> Ladder:
    """``ladder`` with the models the answers were recorded on; tiers they do not name are dropped."""
    named = [dataclasses.replace(t, models=answers.tiers[t.name]) for t in ladder if t.name in answers.tiers]
    if not named:
        raise ConfigError(
            "the recorded answers name no tier of the ladder, and the config names no models", field="tiers"
        )
    return Ladder(named)


def _write_kept(
    module: TargetModule, items: Iterable[ItemResult], measured: dict[tuple[str, str, int], Measurement], out: Path
) -> tuple[KeptTests, ...]:
    """Write the passing tests of each item's final answer to ``out``; returns what was kept.

    The ``conftest.py`` that lets pytest import the target is written only beside kept tests, so a run
    that keeps nothing (stopped early, say) leaves no file behind to block the next one.
    """
    kept: list[KeptTests] = []
    for item in items:
        final = _final_attempt(item)
        found = measured.get(final) if final is not None else None
        if final is None or found is None or found.run is None or not found.run.trusted:
            continue
        code = keep_passing(found.code, found.run)
        if code is None:
            continue
        out.mkdir(parents=True, exist_ok=True)
        path = _free_name(out, f"test_{module.module}_{item.item_id.lower()}")
        path.write_text(code, encoding="utf-8")
        kept.append(
            KeptTests(
                item_id=item.item_id,
                tier=final[1],
                model=item.final_model or "",
                path=path,
                kept=count_kept(code, found.run),
                total=len(found.run.tests),
            )
        )
    if kept:
        (out / "conftest.py").write_text(
            f'"""Lets pytest import the module under test: {module.module} ({module.path})."""\n\n'
            f"import sys\n\nsys.path.insert(0, {str(module.path.parent)!r})\n",
            encoding="utf-8",
        )
    return tuple(kept)


def _free_name(out: Path, stem: str) -> Path:
    """``out/stem.py``, or ``stem_2.py``... when items differ only in case (``shape`` and ``Shape``)."""
    path, number = out / f"{stem}.py", 1
    while path.exists():
        number += 1
        path = out / f"{stem}_{number}.py"
    return path


def check_out_dir(out: Path) -> None:
    """Refuse an output folder that holds anything: kept tests never overwrite the user's files."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(
            f"{out} exists and is not an empty folder: choose a new --out or empty it (kept tests overwrite nothing)",
            field="out_dir",
        )


def _final_attempt(item: ItemResult) -> tuple[str, str, int] | None:
    """The key of the attempt that gave the item's final answer."""
    answered = [
        (t.tier, a.attempt) for t in item.tiers for a in t.attempts if a.error is None and t.tier == item.final_tier
    ]
    return (item.item_id, *answered[-1]) if answered else None
