"""Decision records and audit reports for tests, with plain defaults that any field may override."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from escalade.autonomy import AuditDraft, AuditHead, AutonomyStore, ChainReport, DecisionRecord, verify_chain

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def decision_record(decision_id: str, **changes: Any) -> DecisionRecord:
    """An unescalated ``fix`` decision in workspace ``default``; ``changes`` override any field."""
    base = DecisionRecord(
        workspace="default",
        decision_id=decision_id,
        at=NOW,
        agent=None,
        profile="balanced",
        type="fix",
        environment=None,
        escalated=False,
        risk_accepted=False,
        confidence=0.7,
        threshold=0.6,
        priority="low",
        rule_hits=(),
        forced=False,
        recommendation="approve",
    )
    return replace(base, **changes)


def audit_draft(record: DecisionRecord, kind: str = "decision") -> AuditDraft:
    """An audit draft for ``record`` with a small payload."""
    return AuditDraft(
        at=record.at,
        kind=kind,
        workspace=record.workspace,
        decision_id=record.decision_id,
        payload={"id": record.decision_id},
    )


def intact(entries: int, head: AuditHead | None) -> ChainReport:
    """The report of an intact SHA-256 trail of ``entries`` entries ending at ``head``."""
    return ChainReport(ok=True, entries=entries, anchor=f"{head.seq}:{head.hash}" if head and head.seq else None)


def verify_stored_chain(store: AutonomyStore, key: bytes | None = None) -> ChainReport:
    """The chain alone (not the rows) as ``store`` holds it, read at one instant and verified with ``key``."""
    snapshot = store.audit_snapshot()
    return verify_chain(snapshot.entries, snapshot.head, key)


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str | bytes | bytearray]:
    """Every text ``json.loads`` parses from now on, in order."""
    parsed: list[str | bytes | bytearray] = []
    loads = json.loads

    def counting(text: str | bytes | bytearray, *args: Any, **kwargs: Any) -> Any:
        parsed.append(text)
        return loads(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counting)
    return parsed
