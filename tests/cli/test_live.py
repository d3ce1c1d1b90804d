"""``escalade run --provider openai|anthropic`` against local wire-format servers, and ``escalade budget``."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from escalade.budget import WorkspaceBudget
from escalade.cli.common import EXIT_FAILED_RUN
from escalade.store import SqlStore
from tests.cli.helpers import invoke
from tests.conftest import MakeDataset
from tests.providers.wire import Body, Handler, serve

KEY = "sk-live-test-0123456789"
CONFIG = """
max_cost = 5.0
auto_approve_under = 5.0

[[tiers]]
name = "cheap"
models = ["gpt-4o-mini", "gpt-4.1-nano"]
team_size = 1

[[tiers]]
name = "premium"
models = ["gpt-4o"]
team_size = 1
"""


def _chat(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
    """Cheap models disagree on q2 only; the premium model answers A."""
    prompt = body["messages"][-1]["content"]
    answer = "B" if body["model"] == "gpt-4.1-nano" and "Q2" in prompt else "A"
    usage = {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105}
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": f"The answer is {answer}"},
        "finish_reason": "stop",
    }
    reply = {"id": "c", "object": "chat.completion", "created": 0, "model": body["model"], "choices": [choice]}
    return 200, {}, reply | {"usage": usage}


@pytest.fixture
def config_file(tmp_path: Any) -> str:
    """A two-tier config with real OpenAI model names."""
    path = tmp_path / "escalade.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return str(path)


def test_live_openai_run_bills_real_prices_on_the_ledger(
    make_dataset: MakeDataset, db_url: str, config_file: str
) -> None:
    """A live run sends each prompt to the server, bills with real prices and counts the spend on the month line."""
    dataset = make_dataset(task_kind="multiple-choice")
    with serve(_chat) as (url, seen):
        code, out, err = invoke(
            "run", str(dataset), "--provider", "openai", "--base-url", url, "--config", config_file,
            "--db", db_url, "--json", "--limit", "2", env={"OPENAI_API_KEY": KEY},
        )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["workflow"] == "live"
    assert {r["headers"]["authorization"] for r in seen} == {f"Bearer {KEY}"}
    assert {r["body"]["model"] for r in seen} == {"gpt-4o-mini", "gpt-4.1-nano", "gpt-4o"}
    # q1: two cheap calls agree; q2: two cheap calls disagree, then premium
    prices = {"gpt-4o-mini": (0.15, 0.60), "gpt-4.1-nano": (0.10, 0.40), "gpt-4o": (2.5, 10.0)}
    expected = sum(100 * prices[r["body"]["model"]][0] + 5 * prices[r["body"]["model"]][1] for r in seen) / 1e6
    assert data["total_cost"] == pytest.approx(expected)
    with SqlStore(db_url) as store:
        month = WorkspaceBudget().month_line(datetime.now(UTC))
        line = store.ledger().line(month)
        assert line.spent_usd == pytest.approx(expected, abs=1e-9)
        assert line.reserved == 0
    assert KEY not in out + err


def test_live_run_needs_a_key(make_dataset: MakeDataset, db_url: str) -> None:
    """Without a stored key or OPENAI_API_KEY, the run stops before any call with how to set one."""
    code, _, err = invoke(
        "run", str(make_dataset()), "--provider", "openai", "--db", db_url, env={"OPENAI_API_KEY": ""}
    )
    assert code == 2
    assert "no API key for provider 'openai'" in err
    assert "escalade keys set openai" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provider", "mistral"], "--provider must be replay, openai or anthropic"),
        (["--base-url", "http://127.0.0.1:1/v1"], "--base-url go(es) with a live --provider"),
        (["--stream", "--workspace", "acme"], "--stream, --workspace go(es) with a live --provider"),
        (["--provider", "openai", "--timeout", "0"], "--timeout must be a number of seconds > 0"),
        (["--provider", "openai", "--unknown-prices", "maybe"], "--unknown-prices must be fail or allow"),
        (["--provider", "openai", "--cache-prompts"], "--cache-prompts goes with --provider anthropic"),
        (["--provider", "openai", "--scorer", "oracle"], "only works on replays"),
    ],
)
def test_bad_provider_options(make_dataset: MakeDataset, db_url: str, args: list[str], message: str) -> None:
    """Options that do not fit the provider are one clear error line, before any call."""
    code, _, err = invoke("run", str(make_dataset()), "--db", db_url, *args, env={"OPENAI_API_KEY": KEY})
    assert code == 2
    assert message in err


def test_monthly_budget_stops_a_live_run(make_dataset: MakeDataset, db_url: str, config_file: str) -> None:
    """A workspace's monthly cap refuses the call that could pass it, and the run stops (exit 1)."""
    assert invoke("budget", "set", "--monthly", "0.0001", "--db", db_url)[0] == 0
    with serve(_chat) as (url, seen):
        code, _, err = invoke(
            "run", str(make_dataset()), "--provider", "openai", "--base-url", url, "--config", config_file,
            "--db", db_url, env={"OPENAI_API_KEY": KEY},
        )  # fmt: skip
    assert code == 1
    assert "workspace:default:month:" in err
    with SqlStore(db_url) as store:
        line = store.ledger().line(WorkspaceBudget().month_line(datetime.now(UTC)))
        assert line.cap_usd is not None
        assert line.spent_usd + line.reserved_usd <= line.cap_usd
    assert seen == []  # the first call's worst case (1,024 output tokens) is above the cap: nothing was sent


def test_budget_show_without_a_budget_shows_the_spend(make_dataset: MakeDataset, db_url: str, config_file: str) -> None:
    """A workspace with spend but no budget shows this month's spend, and that no cap is set (exit 0)."""
    code, text, err = invoke("budget", "show", "--db", db_url)
    assert code == 0, err
    assert "workspace default: no budget set (no monthly or per-request cap" in text
    assert ": spent $0.0000" in text
    with serve(_chat) as (url, _):
        code, out, err = invoke(
            "run", str(make_dataset()), "--provider", "openai", "--base-url", url, "--config", config_file,
            "--db", db_url, "--json", "--limit", "1", env={"OPENAI_API_KEY": KEY},
        )  # fmt: skip
    assert code == 0, err
    spent = json.loads(out)["total_cost"]
    code, text, err = invoke("budget", "show", "--db", db_url)
    assert code == 0, err
    assert "no budget set" in text
    assert f": spent ${spent:.4f}" in text
    shown = json.loads(invoke("budget", "show", "--db", db_url, "--json")[1])
    assert (shown["budget_set"], shown["monthly_limit_usd"], shown["left_usd"]) == (False, None, None)
    assert shown["spent_usd"] == pytest.approx(spent)
    assert invoke("budget", "set", "--monthly", "25", "--db", db_url)[0] == 0
    assert json.loads(invoke("budget", "show", "--db", db_url, "--json")[1])["budget_set"] is True


def test_budget_set_show_and_errors(db_url: str) -> None:
    """budget set keeps what is not given; show reports the month; bad values are one clear line."""
    code, out, _ = invoke("budget", "set", "--monthly", "25", "--timezone", "Asia/Tokyo", "--db", db_url)
    assert code == 0
    assert "monthly cap $25.0000" in out
    assert invoke("budget", "set", "--per-request", "0.5", "--db", db_url)[0] == 0
    code, out, _ = invoke("budget", "show", "--json", "--db", db_url)
    shown = json.loads(out)
    assert (shown["monthly_limit_usd"], shown["per_request_limit_usd"], shown["timezone"]) == (25.0, 0.5, "Asia/Tokyo")
    assert shown["month"] == WorkspaceBudget(timezone="Asia/Tokyo").month(datetime.now(UTC))
    assert invoke("budget", "set", "--monthly", "none", "--db", db_url)[0] == 0
    assert json.loads(invoke("budget", "show", "--json", "--db", db_url)[1])["monthly_limit_usd"] is None
    for args, message in (
        (["--monthly", "lots"], "--monthly must be a number of USD or none"),
        (["--per-request", "-1"], "--per-request must be a finite number of USD > 0"),
        (["--monthly", "1e10"], "at most 1,000,000,000"),
        (["--timezone", "Nowhere/Land"], "unknown time zone 'Nowhere/Land'"),
    ):
        code, _, err = invoke("budget", "set", *args, "--db", db_url)
        assert code == 2
        assert message in err
    assert json.loads(invoke("budget", "show", "--json", "--db", db_url)[1])["monthly_limit_usd"] is None  # kept
    assert json.loads(invoke("budget", "reclaim", "--json", "--db", db_url)[1]) == {"reclaimed": 0}


def _messages(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
    """Every Claude model answers A, reading 1,024 prompt tokens from its cache."""
    usage = {"input_tokens": 50, "cache_read_input_tokens": 1024, "cache_creation_input_tokens": 0, "output_tokens": 4}
    message = {"id": "m", "type": "message", "role": "assistant", "model": body["model"], "stop_reason": "end_turn"}
    return 200, {}, message | {"content": [{"type": "text", "text": "A"}], "stop_sequence": None, "usage": usage}


def test_live_anthropic_run_with_cache_breakpoints(make_dataset: MakeDataset, db_url: str) -> None:
    """--provider anthropic uses the default Claude ladder, marks prompts for caching, and bills cache reads."""
    with serve(_messages) as (url, seen):
        code, out, err = invoke(
            "run", str(make_dataset()), "--provider", "anthropic", "--base-url", url.removesuffix("/v1"),
            "--cache-prompts", "--db", db_url, "--json", "--limit", "1", env={"ANTHROPIC_API_KEY": KEY},
        )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert seen[0]["body"]["model"] == "claude-haiku-4-5"
    assert seen[0]["body"]["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    # every call: 50 input + 1,024 cache reads + 4 output tokens at the model's own prices
    prices = {
        "claude-haiku-4-5": (1.0, 0.1, 5.0),
        "claude-sonnet-4-6": (3.0, 0.3, 15.0),
        "claude-opus-4-6": (5, 0.5, 25),
    }
    expected = sum(50 * i + 1024 * r + 4 * o for i, r, o in (prices[q["body"]["model"]] for q in seen)) / 1e6
    assert data["total_cost"] == pytest.approx(expected)


def _local_llm(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
    """A self-hosted OpenAI-compatible server: no price is known for its model."""
    status, extra, reply = _chat(path, headers, body)
    return status, extra, reply if isinstance(reply, list) else reply | {"model": body["model"]}


LOCAL_CONFIG = """
auto_approve_under = 5.0

[[tiers]]
name = "cheap"
models = ["llama-3.1-8b-instruct"]

[[tiers]]
name = "premium"
models = ["llama-3.1-70b-instruct"]
"""


def test_unknown_prices_fail_closed_unless_allowed(make_dataset: MakeDataset, db_url: str, tmp_path: Any) -> None:
    """A model with no known price is never called (the budget cannot be guarded) unless --unknown-prices allow."""
    config = tmp_path / "local.toml"
    config.write_text(LOCAL_CONFIG, encoding="utf-8")
    args = ["run", str(make_dataset()), "--provider", "openai", "--config", str(config), "--db", db_url, "--limit", "1"]
    with serve(_local_llm) as (url, seen):
        code, _, err = invoke(*args, "--base-url", url, env={"OPENAI_API_KEY": KEY})
        assert code == 1
        assert "no price is known for the model: the budget fails closed" in err
        assert seen == []
        code, out, err = invoke(
            *args, "--base-url", url, "--unknown-prices", "allow", "--json", env={"OPENAI_API_KEY": KEY}
        )
    assert code == 0, err
    data = json.loads(out)
    assert data["total_cost"] == 0.0
    assert data["premium_baseline_cost"] == 0.0  # no price, so no baseline: never an infinite one
    assert any("unknown" in w for w in data["warnings"])
    assert seen


FAST_RETRIES = "\nmax_retries = 1\nretry_backoff_s = 0.0\nretry_max_wait_s = 0.0\n"


def _refusing(status: int, kind: str) -> Handler:
    """A server that answers every call with an HTTP error ``status``."""

    def handler(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
        return status, {}, {"error": {"message": f"refused ({status})", "type": kind, "code": None, "param": None}}

    return handler


@contextmanager
def _closed_port() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The URL of a port nothing listens on: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1", []


@pytest.mark.parametrize(
    ("server", "cause"),
    [
        pytest.param(lambda: serve(_refusing(401, "invalid_request_error")), "authentication", id="401"),
        pytest.param(lambda: serve(_refusing(500, "server_error")), "server error", id="500"),
        pytest.param(_closed_port, "connection", id="refused"),
    ],
)
def test_live_run_where_every_call_fails_is_failed(
    make_dataset: MakeDataset, db_url: str, tmp_path: Any, server: Callable[[], Any], cause: str
) -> None:
    """Every call fails: the run is stored failed, exits 1, claims no savings and counts the errors by cause."""
    config = tmp_path / "fast.toml"
    config.write_text(FAST_RETRIES + CONFIG, encoding="utf-8")
    args = ["run", str(make_dataset()), "--provider", "openai", "--config", str(config), "--db", db_url, "--limit", "2"]
    with server() as (url, _):
        code, out, err = invoke(*args, "--base-url", url, "--json", env={"OPENAI_API_KEY": KEY})
        text_code, text, _ = invoke(*args, "--base-url", url, env={"OPENAI_API_KEY": KEY})
    assert (code, text_code) == (EXIT_FAILED_RUN, EXIT_FAILED_RUN)
    assert "no item was answered" in err
    data = json.loads(out)
    assert data["status"] == "failed"
    assert (data["items_answered"], data["premium_baseline_cost"], data["cost_savings_percent"]) == (0, 0.0, None)
    assert data["errors"] == {cause: 6}  # 2 items x 3 models, each once however often it was retried
    assert "Savings:               n/a (no item was answered)" in text
    assert f"Errors: 6 failed attempts: {cause} 6" in text
    assert "completed" not in text
    code, shown, _ = invoke("show", data["run_id"], "--db", db_url, "--json")
    assert code == 0
    stored = json.loads(shown)
    assert (stored["status"], stored["errors"], stored["cost_savings_percent"]) == ("failed", {cause: 6}, None)
    listed = json.loads(invoke("list", "--db", db_url, "--json")[1])
    assert {(r["status"], r["items_answered"], r["cost_savings_percent"]) for r in listed} == {("failed", 0, None)}


def test_live_run_with_some_unanswered_items_is_partial(make_dataset: MakeDataset, db_url: str, tmp_path: Any) -> None:
    """Server errors on one prompt only: the run is partial (exit 0), and savings cover the answered item alone."""

    def flaky(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
        if "Q2" in body["messages"][-1]["content"]:
            return _refusing(503, "server_error")(path, headers, body)
        return _chat(path, headers, body)

    config = tmp_path / "fast.toml"
    config.write_text(FAST_RETRIES + CONFIG, encoding="utf-8")
    args = ["run", str(make_dataset()), "--provider", "openai", "--config", str(config), "--db", db_url, "--json"]
    with serve(_chat) as (url, _):
        both = json.loads(invoke(*args, "--base-url", url, "--limit", "1", env={"OPENAI_API_KEY": KEY})[1])
    with serve(flaky) as (url, _):
        code, out, err = invoke(*args, "--base-url", url, "--limit", "2", env={"OPENAI_API_KEY": KEY})
    assert code == 0, err
    data = json.loads(out)
    assert data["status"] == "partial"
    assert (data["items_total"], data["items_answered"]) == (2, 1)
    assert data["premium_baseline_cost"] == pytest.approx(both["premium_baseline_cost"])  # q1's alone
    assert data["cost_savings"] == pytest.approx(data["premium_baseline_cost"] - data["answered_cost"])
    assert data["errors"] == {"server error": 3}
