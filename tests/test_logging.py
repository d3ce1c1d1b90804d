"""Logging: every area logs its decisions, and no record carries a prompt, an answer or a key unless asked."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from escalade.autonomy import EscalationEngine
from escalade.budget import MemoryLedger
from escalade.cascade import ProgressiveExecutor, WorkItem
from escalade.exceptions import BudgetExceededError, ProviderAuthError
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.providers import CompletionRequest, OpenAICompatibleProvider, ScriptedProvider
from escalade.replay import ReplayProvider, load_dataset, plan_replay
from escalade.routing import Router, Task
from escalade.store import KeyVault, SqlStore
from tests.conftest import MakeDataset, row
from tests.providers.wire import Body, Handler, serve

#: Distinctive markers: none may appear in a record without the opt-in.
KEY = "sk-log-test-5e8f0a1b2c3d4e5f"
PROMPT = "prompt-marker-4c1d9e: what is six times seven?"
ANSWER = "answer-marker-7f3a2b"
DESCRIPTION = "decision-marker-9b8c: deploy v2.3 to production"
SECRETS = (KEY, PROMPT, "prompt-marker-4c1d9e", ANSWER, DESCRIPTION, "decision-marker-9b8c")
AREAS = ("cascade", "routing", "budget", "providers", "store", "replay", "autonomy")

#: Runs every area (with the content opt-in or not) and returns every record captured.
RunAll = Callable[[bool], list[logging.LogRecord]]


def _openai_wire() -> Handler:
    """OpenAI's wire format: a 401 that quotes the key for ``bad-key``, one 500 for ``flaky``, else an answer."""
    failed: list[str] = []

    def handler(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
        model = body["model"]
        if model == "bad-key":
            return 401, {}, {"error": {"message": f"Incorrect API key provided: {KEY}.", "code": "invalid_api_key"}}
        if model == "flaky" and not failed:
            failed.append(model)
            return 500, {}, {"error": {"message": "internal error", "code": "server_error"}}
        choice = {"index": 0, "message": {"role": "assistant", "content": f"{ANSWER} 42"}, "finish_reason": "stop"}
        usage = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}
        reply = {"id": "c", "object": "chat.completion", "created": 0, "model": model, "choices": [choice]}
        return 200, {}, reply | {"usage": usage}

    return handler


def _two_tiers(cheap: str, premium: str, **config: Any) -> EscalationConfig:
    return EscalationConfig(
        tiers=Ladder(
            [
                Tier(name="cheap", rank=0, models=(cheap,), threshold=99.0),
                Tier(name="premium", rank=1, models=(premium,), threshold=0.0),
            ]
        ),
        **config,
    )


def _cascade() -> None:
    """A fake provider's cascade: the cheap answer escalates, the premium one is accepted."""
    provider = ScriptedProvider({"m": [f"{ANSWER} 41"], "p": [f"{ANSWER} 42"]}, cost_per_call=0.001)
    result = ProgressiveExecutor(_two_tiers("m", "p"), provider).run_sync([WorkItem(id="q1", prompt=PROMPT)])
    assert result.items[0].final_tier == "premium"


def _budget_refusal() -> None:
    """A run whose first call would pass max_cost stops with a refusal."""
    provider = ScriptedProvider({"m": [ANSWER], "p": [ANSWER]}, cost_per_call=1.0)
    executor = ProgressiveExecutor(_two_tiers("m", "p", max_cost=0.5), provider, ledger=MemoryLedger())
    with pytest.raises(BudgetExceededError):
        executor.run_sync([WorkItem(id="q1", prompt=PROMPT)])


def _replay(make_dataset: MakeDataset) -> None:
    """A replay of recorded outcomes whose prompt and responses are the markers."""
    outputs: dict[str, tuple[float, float, str | None]] = {
        "small-a": (0.0, 0.001, f"{ANSWER} A"),
        "mid": (1.0, 0.01, f"{ANSWER} B"),
        "big": (1.0, 0.1, f"{ANSWER} B"),
    }
    dataset = load_dataset(make_dataset([row("r1", PROMPT, outputs)]))
    plan = plan_replay(dataset, "test", EscalationConfig(max_cost=None, auto_approve_under=None))
    ProgressiveExecutor(plan.config, ReplayProvider(plan.rows)).run_sync(plan.items)


def _live(db_url: str) -> None:
    """The OpenAI adapter with a vault key: an answer after a retried 500, and a 401 quoting the key; runs stored."""
    store = SqlStore(db_url)
    key = KeyVault(store, environ={"OPENAI_API_KEY": KEY}).get("openai")
    with serve(_openai_wire()) as (url, _):
        provider = OpenAICompatibleProvider(key, base_url=url, unknown_costs="allow")
        config = _two_tiers("flaky", "gpt-4o-mini", retry_backoff_s=0.0, max_cost=None, auto_approve_under=None)
        ProgressiveExecutor(config, provider, listeners=[store]).run_sync([WorkItem(id="q1", prompt=PROMPT)])
        request = CompletionRequest(item_id="q2", model="bad-key", prompt=PROMPT)
        with pytest.raises(ProviderAuthError):
            asyncio.run(provider.complete(request))
    store.cleanup(30, dry_run=True)
    store.close()


def _route_and_decide() -> None:
    assert Router(Ladder.default()).route(Task(f"Implement JWT authentication. {PROMPT}")).tier == "premium"
    assert EscalationEngine().evaluate({"id": "d1", "description": DESCRIPTION}).should_escalate


@pytest.fixture
def run_all(
    caplog: pytest.LogCaptureFixture, make_dataset: MakeDataset, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> RunAll:
    """Runs every area with the root logger and escalade's at DEBUG; ``run_all(content)`` gives every record."""

    def run(content: bool) -> list[logging.LogRecord]:
        if content:
            monkeypatch.setenv("ESCALADE_LOG_CONTENT", "1")
        else:
            monkeypatch.delenv("ESCALADE_LOG_CONTENT", raising=False)
        caplog.set_level(logging.DEBUG)
        caplog.set_level(logging.DEBUG, logger="escalade")
        _cascade()
        _budget_refusal()
        _replay(make_dataset)
        _live(db_url)
        _route_and_decide()
        return caplog.records

    return run


def _texts(record: logging.LogRecord) -> list[str]:
    """Everything a handler could write of ``record``: the message, its arguments, its traceback."""
    formatted = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
    return [record.getMessage(), str(record.msg), repr(record.args), record.exc_text or "", formatted]


def _escalade(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if r.name == "escalade" or r.name.startswith("escalade.")]


def test_each_area_logs_its_decisions(run_all: RunAll) -> None:
    """Cascade, routing, budget, providers, store, replay and autonomy all emit records at DEBUG."""
    ours = _escalade(run_all(False))
    for area in AREAS:
        assert any(r.name.startswith(f"escalade.{area}.") for r in ours), f"nothing logged from escalade.{area}"
    messages = [r.getMessage() for r in ours]
    assert any("escalates cheap -> premium" in m for m in messages)
    assert any("refused: budget exceeded" in m for m in messages)
    assert any(r.levelno == logging.WARNING and "retry 1 of" in r.getMessage() for r in ours)
    assert any(r.levelno == logging.INFO and " finished " in r.getMessage() for r in ours)
    assert any("route: start tier 'premium'" in m for m in messages)
    assert any("ProviderAuthError" in m for m in messages)


def test_no_record_carries_a_key_a_prompt_or_an_answer(run_all: RunAll) -> None:
    """At DEBUG, the key is in no record of any logger; prompts, answers and descriptions in none of escalade's."""
    records = run_all(False)
    assert len(_escalade(records)) > 50
    for record in records:
        assert not any(KEY in text for text in _texts(record)), f"{record.name} logged the key"
    for record in _escalade(records):
        for secret in SECRETS:
            assert not any(secret in text for text in _texts(record)), f"{record.name} logged {secret!r}"


def test_the_opt_in_adds_content_but_never_the_key(run_all: RunAll) -> None:
    """With ESCALADE_LOG_CONTENT=1 the prompt, answers and description appear at DEBUG; the key still never does."""
    records = run_all(True)
    content = [r for r in _escalade(records) if any(s in r.getMessage() for s in (PROMPT, ANSWER, DESCRIPTION))]
    assert {r.levelno for r in content} == {logging.DEBUG}
    shown = " ".join(r.getMessage() for r in content)
    assert PROMPT in shown
    assert ANSWER in shown
    assert DESCRIPTION in shown
    assert not any(KEY in text for record in records for text in _texts(record))


def test_the_library_adds_only_a_null_handler() -> None:
    """The package never configures logging: escalade's logger has a NullHandler, the root logger none of ours."""
    import escalade  # noqa: F401, PLC0415  (the handler is added on import)

    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("escalade").handlers)
    assert not any(type(h).__module__.startswith("escalade") for h in logging.getLogger().handlers)
