"""``escalade serve``: the HTTP service on uvicorn (see ``docs/service.md``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from escalade.cli.common import DbOption, fail, handle_errors

if TYPE_CHECKING:
    from escalade.service import ServiceSettings

__all__ = ["serve_command"]


@handle_errors
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Processes of this server (uvicorn workers).")] = 1,
    provider: Annotated[
        str, typer.Option(help="Default upstream: openai, anthropic, or replay (with --dataset; no key).")
    ] = "openai",
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="The upstream's API at another address (any OpenAI-compatible).")
    ] = None,
    dataset: Annotated[
        Path | None, typer.Option(help="With --provider replay: the recorded dataset that answers.")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML config file with the ladder.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds one upstream call may take.")] = 60.0,
    unknown_prices: Annotated[
        str, typer.Option("--unknown-prices", help="fail (default) or allow models with no known price.")
    ] = "fail",
    max_body_bytes: Annotated[
        int, typer.Option("--max-body-bytes", help="Largest request body accepted, in bytes.")
    ] = 1 << 20,
    files_root: Annotated[
        Path | None,
        typer.Option("--files-root", help="Folder /v1/escalation/analyze may read files from (default: none)."),
    ] = None,
    jobs: Annotated[
        str, typer.Option(help="auto: PostgreSQL's job queue on PostgreSQL, in-process on SQLite; or inprocess.")
    ] = "auto",
    env_keys: Annotated[
        bool,
        typer.Option(
            "--env-keys",
            help="Let workspaces with no stored upstream key use this server's OPENAI_API_KEY/ANTHROPIC_API_KEY.",
        ),
    ] = False,
    workflow_lease: Annotated[
        float,
        typer.Option("--workflow-lease", help="Seconds a replica's claim on a running workflow holds unless renewed."),
    ] = 30.0,
    workflow_attempts: Annotated[
        int, typer.Option("--workflow-attempts", help="Starts a workflow gets before it fails (its replica died).")
    ] = 3,
    max_open_workflows: Annotated[
        int,
        typer.Option("--max-open-workflows", help="Workflows a workspace may have queued or running (then 429)."),
    ] = 1000,
    hold_ttl: Annotated[
        float,
        typer.Option(
            "--hold-ttl",
            help="Seconds a call's budget hold lasts before a sweep may reclaim it (a killed replica's come back).",
        ),
    ] = 900.0,
    cache_ttl: Annotated[
        float,
        typer.Option(
            "--cache-ttl",
            help="Seconds a process keeps what it read of keys and workspace settings (0: read on every request).",
        ),
    ] = 1.0,
    webhook: Annotated[
        list[str] | None,
        typer.Option(
            "--webhook",
            help="Tell this URL of inbox items sent and answered (JSON; slack=URL: Slack's body). Repeatable.",
        ),
    ] = None,
    inbox_dispatch: Annotated[
        float, typer.Option("--inbox-dispatch", help="Seconds between two looks for inbox batches due (0: never).")
    ] = 30.0,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn's and escalade's log level.")] = "info",
    limit_concurrency: Annotated[
        int,
        typer.Option("--limit-concurrency", help="Connections and tasks per process beyond which requests get 503."),
    ] = 1000,
    keep_alive: Annotated[
        float, typer.Option("--keep-alive", help="Seconds an idle keep-alive connection stays open.")
    ] = 5.0,
    db: DbOption = None,
) -> None:
    """Serve the escalation API, the OpenAI-compatible endpoint and the decision engine over HTTP."""
    from escalade.service import ServiceSettings

    if not 0 < port < 65536:
        raise fail(f"--port must be in 1..65535, got {port}")
    if workers < 1:
        raise fail(f"--workers must be at least 1, got {workers}")
    if limit_concurrency < 1:
        raise fail(f"--limit-concurrency must be at least 1, got {limit_concurrency}")
    if not 0 < keep_alive <= 3600:
        raise fail(f"--keep-alive must be in (0, 3600] seconds, got {keep_alive}")
    if config is not None and not config.is_file():
        raise fail(f"config file not found: {config}")
    if files_root is not None and not files_root.is_dir():
        raise fail(f"--files-root is not a folder: {files_root}")
    settings = ServiceSettings(
        database_url=db,
        provider=provider,
        base_url=base_url,
        dataset=dataset,
        config=config,
        timeout_s=timeout,
        unknown_prices=unknown_prices,  # type: ignore[arg-type]  # checked by ServiceSettings
        max_body_bytes=max_body_bytes,
        files_root=files_root.resolve() if files_root else None,
        jobs=jobs,  # type: ignore[arg-type]  # the same
        env_keys=env_keys,
        workflow_lease_s=workflow_lease,
        workflow_max_attempts=workflow_attempts,
        cache_ttl_s=cache_ttl,
        hold_ttl_s=hold_ttl,
        max_open_workflows=max_open_workflows,
        webhooks=" ".join(webhook) if webhook else None,
        inbox_dispatch_s=inbox_dispatch,
    )
    ServiceSettings.admin_key()  # a bad ESCALADE_ADMIN_KEY is refused before the port is taken
    _run(settings, host=host, port=port, workers=workers, log_level=log_level, concurrency=limit_concurrency,
         keep_alive=keep_alive)  # fmt: skip


def _run(
    settings: ServiceSettings,
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    concurrency: int,
    keep_alive: float,
) -> None:
    """Serve ``settings`` with uvicorn: in this process, or in ``workers`` processes that read them from
    the environment (their counters summed through prometheus-client's multiprocess folder)."""
    import uvicorn

    from escalade.service import ServiceSettings, create_app
    from escalade.service._logging import log_config

    common = {
        "host": host,
        "port": port,
        "log_config": log_config(log_level),
        "access_log": False,  # escalade's middleware writes the access log, as JSON
        "limit_concurrency": concurrency,
        "timeout_keep_alive": max(1, round(keep_alive)),
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]  # uvicorn.run's keywords, typed there
        return
    ServiceSettings.hand_over(settings, os.environ)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # each worker's counters, summed at scrape
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="escalade-metrics-")
    uvicorn.run(
        "escalade.service:create_app_from_env",
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=30,  # a worker imports the whole pipeline before it answers its first ping
        **common,  # type: ignore[arg-type]  # the same
    )
