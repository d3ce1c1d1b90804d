"""``/v1/escalation/health``: readiness (the database answers and its schema is current) and liveness.

No key is needed. Readiness answers 503 while the database is unreachable or behind the code's
migrations, so a load balancer sends no traffic to a replica that cannot serve it.
"""

from __future__ import annotations

import logging
import time
from importlib.metadata import version

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from escalade.service._state import state_of
from escalade.store import current_revision, first_line, head_revision

__all__ = ["router"]

router = APIRouter(prefix="/v1/escalation", tags=["health"])
logger = logging.getLogger(__name__)


class Health(BaseModel):
    #: ``ok`` when ready, else ``unavailable``.
    status: str
    database: str
    migrations: str
    revision: str | None
    head: str | None
    replica: str
    version: str
    checked_in_ms: float


#: Seconds a readiness answer is reused: a flood of unauthenticated checks costs one database round trip
#: per interval, not one each.
READINESS_TTL_S = 2.0


@router.get("/health", response_model=Health, responses={503: {"model": Health, "description": "Not ready"}})
def health(request: Request) -> JSONResponse:
    """Ready when the database answers and its schema is at the code's migration head (checked at most
    every :data:`READINESS_TTL_S` seconds)."""
    state = state_of(request)
    cached = state.parts.get("health")
    if cached is not None and time.monotonic() - cached[0] < READINESS_TTL_S:
        body, status = cached[1], cached[2]
        return JSONResponse(body, status_code=status)
    body, status = _check(request)
    state.parts["health"] = (time.monotonic(), body, status)
    return JSONResponse(body, status_code=status)


def _check(request: Request) -> tuple[dict[str, object], int]:
    state = state_of(request)
    started = time.perf_counter()
    head = head_revision()
    revision: str | None = None
    try:
        with state.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision(state.store.engine)
        database = "ok"
    except Exception as exc:  # whatever the driver raises, health reports it and stays up
        logger.warning("health: the database is unreachable: %s", first_line(exc)[:200])
        database = "unreachable"
    migrations = "current" if revision == head else ("unknown" if revision is None else "behind")
    ready = database == "ok" and migrations == "current"
    body = Health(
        status="ok" if ready else "unavailable",
        database=database,
        migrations=migrations,
        revision=revision,
        head=head,
        replica=state.replica,
        version=version("escalade"),
        checked_in_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    return body.model_dump(), 200 if ready else 503


class Live(BaseModel):
    status: str


@router.get("/health/live")
def live() -> Live:
    """The process is up (it checks nothing else)."""
    return Live(status="ok")
