"""The app factory: :func:`create_app` builds the FastAPI app of ``escalade serve``; importing builds nothing.

Its lifespan opens the store (migrating it), then starts each feature's background part (the
workflow runner) and stops them in reverse order. Every error leaves as the JSON body of
:mod:`escalade.service._errors`; the OpenAPI schema documents those bodies for every status.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from escalade.exceptions import EscaladeError
from escalade.service import admin, admin_settings, chat, decisions, escalation, health, inbox_api, metrics_route, web
from escalade.service._errors import ApiError, error_body, from_escalade_error, from_validation_errors
from escalade.service._inbox_dispatch import start_inbox
from escalade.service._jobs import start_workflows
from escalade.service._metrics import ServiceMetrics
from escalade.service._middleware import ServiceMiddleware
from escalade.service._pipelines import Pipelines
from escalade.service._recent import Recent
from escalade.service._settings import ServiceSettings
from escalade.service._spend import month_spend
from escalade.service._state import ServiceState, replica_name
from escalade.store import SqlStore

__all__ = ["Feature", "create_app", "create_app_from_env"]

logger = logging.getLogger(__name__)

#: Routes that need no key (health, liveness and readiness).
_OPEN_PATHS = ("/v1/escalation/health",)
#: How a key is sent: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` (a workspace's, or the
#: administrator's for ``/v1/admin`` and ``/metrics``).
_SECURITY_SCHEMES = {
    "bearerKey": {"type": "http", "scheme": "bearer", "description": "A workspace's key (esk_...) or the admin key"},
    "headerKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
_KEYED: list[dict[str, list[str]]] = [{"bearerKey": []}, {"headerKey": []}]

#: A feature's start (given the state, it returns its stop, or ``None``), run in the app's lifespan.
Feature = Callable[[ServiceState], Awaitable[Callable[[], Awaitable[None]] | None]]
#: The features started with every app, in order (the workflow runner, say).
_FEATURES: tuple[Feature, ...] = (start_workflows, start_inbox)
#: The routers of every app.
_ROUTERS = (
    health.router,
    admin.router,
    admin_settings.router,
    escalation.router,
    metrics_route.router,
    chat.router,
    decisions.router,
    inbox_api.router,
    web.router,
)


def _request_id(request: Request) -> str | None:
    found = request.scope.get("state", {}).get("request_id")
    return found if isinstance(found, str) else None


def _respond(request: Request, error: ApiError) -> JSONResponse:
    return JSONResponse(error_body(error, _request_id(request)), status_code=error.status, headers=error.headers)


def _install_errors(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return _respond(request, exc)

    async def escalade_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, EscaladeError)
        return _respond(request, from_escalade_error(exc))

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _respond(request, from_validation_errors(exc.errors()))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = {404: "not_found_error", 405: "invalid_request_error"}.get(exc.status_code, "invalid_request_error")
        message = "no such route" if exc.status_code == 404 else str(exc.detail)
        return _respond(request, ApiError(exc.status_code, message, type=kind, headers=exc.headers))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unexpected %s on %s (request %s)", type(exc).__name__, request.url.path, _request_id(request))
        logger.debug("traceback", exc_info=exc)
        return _respond(
            request, ApiError(500, "internal error; the request id names it in the logs", type="server_error")
        )

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(EscaladeError, escalade_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def _error_schemas(app: FastAPI) -> None:
    """Document FastAPI's own 422 as the service's error body (it answers 400 with that body instead)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for route, path in schema.get("paths", {}).items():
            for operation in path.values():
                operation["security"] = [] if route.startswith(_OPEN_PATHS) else _KEYED
                responses = operation.get("responses", {})
                if "422" in responses:
                    responses["422"] = responses.get("400") or {
                        "description": "Malformed request",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
                    }
        schema.setdefault("components", {})["securitySchemes"] = _SECURITY_SCHEMES
        schemas = schema.get("components", {}).get("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema


def create_app(settings: ServiceSettings | None = None, *, store: SqlStore | None = None) -> FastAPI:
    """The service's app; the store is opened (and migrated) when the app starts, unless ``store`` is given."""
    settings = settings or ServiceSettings()
    admin_key = ServiceSettings.admin_key()
    holder: dict[str, ServiceState] = {}

    def spend() -> list[tuple[str, float, float | None]]:
        state = holder.get("state")
        return [] if state is None else month_spend(state.store)

    metrics = ServiceMetrics(spend)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened: SqlStore = (
            store if store is not None else await anyio.to_thread.run_sync(SqlStore, settings.database_url)
        )
        pipelines = await anyio.to_thread.run_sync(Pipelines, opened, settings)
        state = ServiceState(
            pipelines=pipelines,
            settings=settings,
            store=opened,
            admin_key=admin_key,
            metrics=metrics,
            replica=replica_name(settings.replica),
            keys=Recent(ttl_s=settings.cache_ttl_s),
        )
        app.state.service = holder["state"] = state
        stops: list[Callable[[], Awaitable[None]]] = []
        try:
            for feature in _FEATURES:
                stop = await feature(state)
                if stop is not None:
                    stops.append(stop)
            logger.info("escalade serve ready (replica %s, database %s)", state.replica, opened.database)
            yield
        finally:
            for stop in reversed(stops):
                await stop()
            await anyio.to_thread.run_sync(pipelines.close)
            if store is None:
                opened.close()

    app = FastAPI(
        title="escalade",
        version=version("escalade"),
        description="Route AI work to a cheap model, a stronger model or a person, with the cost and reasons.",
        lifespan=lifespan,
    )
    _install_errors(app)
    for feature_router in _ROUTERS:
        app.include_router(feature_router)
    _error_schemas(app)
    paths = frozenset(p for route in app.routes if "{" not in (p := getattr(route, "path", "{")))
    app.add_middleware(ServiceMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics, paths=paths)
    return app


def create_app_from_env() -> FastAPI:
    """The app with settings from ``ESCALADE_SERVE_*`` (each uvicorn worker process calls this)."""
    return create_app(ServiceSettings.from_env())
