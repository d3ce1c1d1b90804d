"""Each escalade error as the service answers it: its status, type and body (see _errors's table)."""

from __future__ import annotations

import pytest

from escalade.budget import LineState
from escalade.exceptions import (
    ApprovalDeniedError,
    AuditKeyError,
    BudgetExceededError,
    BudgetUnavailableError,
    ConfigError,
    ContentPolicyError,
    ContextWindowError,
    DatabaseError,
    DecisionError,
    EscaladeError,
    ListenerError,
    ProviderAuthError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
    RunNotFoundError,
)
from escalade.service._errors import error_body, from_escalade_error, from_validation_errors


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (BudgetExceededError("over the cap"), 402, "budget_exceeded"),
        (ApprovalDeniedError("not approved"), 402, "budget_exceeded"),
        (DatabaseError("gone", database="postgresql://u:secret@db/x"), 503, "unavailable"),
        (BudgetUnavailableError("ledger down"), 503, "unavailable"),
        (ListenerError("store down"), 503, "unavailable"),
        (RateLimitedError("slow down"), 429, "rate_limit_error"),
        (ContextWindowError("too long"), 400, "invalid_request_error"),
        (ContentPolicyError("refused"), 400, "invalid_request_error"),
        (ProviderTimeoutError("late"), 504, "upstream_timeout"),
        (ProviderServerError("500 upstream"), 502, "upstream_error"),
        (ProviderAuthError("key refused"), 502, "upstream_error"),
        (ProviderError("failed"), 502, "upstream_error"),
        (RunNotFoundError("r1"), 404, "not_found_error"),
        (ConfigError("bad", field="profile"), 400, "invalid_request_error"),
        (DecisionError("is required", decision_id="d1", field="description"), 400, "invalid_request_error"),
        (AuditKeyError("ESCALADE_AUDIT_KEY is not the trail's key"), 500, "server_error"),
        (EscaladeError("anything else"), 400, "invalid_request_error"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_each_error_has_its_status_and_type(error: EscaladeError, status: int, kind: str) -> None:
    mapped = from_escalade_error(error)
    assert (mapped.status, mapped.type) == (status, kind)
    body = error_body(mapped, "rid")
    assert body["request_id"] == "rid"
    assert body["error"]["type"] == kind


def test_a_field_error_names_its_param() -> None:
    assert from_escalade_error(DecisionError("is required", decision_id="d1", field="description")).param == (
        "description"
    )
    assert from_escalade_error(ConfigError("bad", field="profile")).param == "profile"


def test_the_database_never_shows_in_the_body() -> None:
    """The URL (and its password) and the driver's words stay in the server's log."""
    mapped = from_escalade_error(DatabaseError("gone", database="postgresql://u:secret@db/x"))
    assert "secret" not in mapped.message
    assert "db/x" not in mapped.message


def test_a_budget_refusal_names_the_refusing_line() -> None:
    line = LineState(key="workspace:acme:month:2026-12", cap=10, spent=10, reserved=0)
    mapped = from_escalade_error(BudgetExceededError("over the cap", line=line, requested_usd=1.0))
    assert mapped.line == "workspace:acme:month:2026-12"
    assert mapped.code == "budget_exceeded"


def test_a_rate_limit_says_when_to_retry() -> None:
    mapped = from_escalade_error(RateLimitedError("slow down", retry_after_s=2.4))
    assert mapped.headers == {"Retry-After": "2"}
    assert mapped.code == "upstream_rate_limited"


@pytest.mark.parametrize(
    ("errors", "param", "start"),
    [
        ([{"loc": ("body", "colour"), "type": "extra_forbidden"}], "colour", "unknown field 'colour'"),
        ([{"loc": ("body", "name"), "type": "missing"}], "name", "missing field 'name'"),
        ([{"loc": ("body", "messages", 0, "role"), "type": "enum", "msg": "bad"}], "messages[0].role", "field"),
        ([{"loc": ("body", 1), "type": "json_invalid", "msg": "Expecting value"}], "body", "the body is not valid"),
        ([{"loc": ("query", "limit"), "type": "int_parsing", "msg": "not int"}] * 3, "limit", "field 'limit'"),
        ([], None, "malformed request"),
    ],
)
def test_validation_errors_name_the_first_field(errors: list[dict[str, object]], param: str | None, start: str) -> None:
    mapped = from_validation_errors(errors)
    assert mapped.status == 400
    assert mapped.param == param
    assert mapped.message.startswith(start)


def test_more_problems_are_counted() -> None:
    mapped = from_validation_errors([{"loc": ("body", "a"), "type": "missing"}] * 3)
    assert mapped.message.endswith("(and 2 more problems)")
