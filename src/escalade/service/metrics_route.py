"""``GET /metrics``: Prometheus's text format, for the administrator's key."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from escalade.service._auth import require_admin
from escalade.service._errors import ERROR_RESPONSES
from escalade.service._metrics import CONTENT_TYPE
from escalade.service._state import state_of

__all__ = ["router"]

router = APIRouter(tags=["metrics"], responses=ERROR_RESPONSES)


@router.get(
    "/metrics",
    dependencies=[Depends(require_admin)],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Metrics in Prometheus's text format"}},
)
def metrics(request: Request) -> Response:
    """Requests, latency, tier decisions, escalations, upstream errors; spend and budget left per workspace."""
    return Response(state_of(request).metrics.exposition(), media_type=CONTENT_TYPE)
