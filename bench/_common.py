"""Shared helpers of the benchmark scripts: where the data is, how results are written, loopback ports."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BENCHMARKS = Path(os.environ.get("ESCALADE_BENCHMARKS", ROOT.parent / "shared" / "data" / "benchmarks"))

#: The shared datasets and the split each is scored on.
DATASETS = {
    "routellm-mmlu": "all",
    "routellm-gsm8k": "all",
    "routerbench-arc": "test",
    "routerbench-mbpp": "test",
}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "commit": commit,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def dataset_dir(name: str) -> Path:
    """Folder of a shared dataset; a clear exit when ../shared is missing."""
    path = BENCHMARKS / name
    if not path.is_dir():
        sys.exit(f"error: dataset {name} not found at {path} (clone ../shared beside the repository)")
    return path


def write_result(name: str, result: dict[str, Any]) -> None:
    """Print ``result`` as JSON and keep it in bench/results/<name>.json."""
    document = {"benchmark": name, "machine": machine(), **result}
    text = json.dumps(document, indent=2)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(text + "\n", encoding="utf-8")
    print(text)


@contextmanager
def postgres_database(admin_url: str, *, prefix: str = "escalade_bench") -> Iterator[str]:
    """URL of a new, empty PostgreSQL database on ``admin_url``'s server, dropped on exit even after an error."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)  # survives a restart
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_status(url: str, timeout: float = 2.0) -> int:
    """The status ``url`` answers with (0: no answer)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # loopback only
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, urllib.error.URLError):
        return 0


def log_tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a process's log file ("" if there is none)."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def stop_all(processes: Iterable[subprocess.Popen[bytes]], *, timeout_s: float) -> None:
    """SIGTERM every process still running, then wait up to ``timeout_s`` for each, and SIGKILL the rest."""
    running = list(processes)
    for process in running:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in running:
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(name: str, process: subprocess.Popen[bytes], ready_url: str, *, timeout_s: float, log: Path) -> None:
    """Return once ``ready_url`` answers 200; an error (with ``log``'s tail) if ``process`` exits or takes too long."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}: {log_tail(log)}")
        if http_status(ready_url) == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} was not ready in {timeout_s:g} s: {log_tail(log)}")
