"""Telemetry events in the store's database, appended as they happen (see :mod:`escalade.reporting`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from escalade.store._engine import Database
from escalade.store._models import TelemetryEventRow

__all__ = ["TelemetryRepository"]


class TelemetryRepository:
    """Telemetry events, one row each, oldest first."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_event(self, **values: Any) -> None:
        """Append one telemetry event (columns of ``TelemetryEventRow``)."""
        self.db.insert(TelemetryEventRow, values)

    def events(self) -> list[TelemetryEventRow]:
        """All telemetry events, oldest first."""
        with self.db.session() as s:
            return list(s.scalars(select(TelemetryEventRow).order_by(TelemetryEventRow.id)))
