"""The soak's processes: the fake upstream, the ``escalade serve`` replicas, and PostgreSQL's restart.

:class:`Processes` starts each process on a loopback port with its log in the run's folder
(appended to, so a replica restarted after SIGKILL keeps one log), waits for it to be ready, and
stops every one still running on exit (SIGTERM, then SIGKILL), even after an error or Ctrl-C.
PostgreSQL is the machine's own cluster that serves the soak's URL (found by its port in
``pg_lsclusters``), restarted once by the soak with ``pg_ctlcluster`` and started again on the way
out if it is down.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench._common import free_port, log_tail, stop_all, wait_ready

__all__ = [
    "Processes",
    "cluster_on_port",
    "ensure_postgres_up",
    "free_port",
    "postgres_cluster",
    "postgres_ready",
    "restart_postgres",
]

ESCALADE = Path(sys.executable).with_name("escalade")
#: Longest wait for a process to answer its readiness URL.
READY_TIMEOUT_S = 120.0


@dataclass
class Processes:
    """The soak's subprocesses by name (see the module docstring); a context manager that stops them."""

    workdir: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    #: What each was started with, to start it again.
    commands: dict[str, tuple[list[str], str, dict[str, str]]] = field(default_factory=dict)

    def start(self, name: str, argv: Sequence[str], ready_url: str, *, env: Mapping[str, str] | None = None) -> None:
        """Start ``argv`` (``env`` on top of ours) and wait until ``ready_url`` answers 200."""
        self.commands[name] = (list(argv), ready_url, dict(env or {}))
        self.launch(name)
        self.wait_ready(name)

    def launch(self, name: str) -> None:
        """Start ``name`` again, as it was first started, without waiting for it."""
        argv, _, env = self.commands[name]
        with (self.workdir / f"{name}.log").open("ab") as log:
            self.running[name] = subprocess.Popen(  # our own commands
                argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env}, cwd=self.workdir
            )

    def wait_ready(self, name: str, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Return once ``name`` answers 200 on its readiness URL; an error if it exits or takes too long."""
        log = self.workdir / f"{name}.log"
        wait_ready(name, self.running[name], self.commands[name][1], timeout_s=timeout_s, log=log)

    def kill(self, name: str) -> None:
        """SIGKILL ``name`` and reap it."""
        process = self.running[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def log_summary(self, name: str) -> dict[str, int]:
        """``name``'s log lines by ``level logger`` (escalade logs JSON lines), and ``other`` for the rest
        (procrastinate's tracebacks, for one)."""
        path = self.workdir / f"{name}.log"
        counts: Counter[str] = Counter()
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            try:
                entry = json.loads(line)
                counts[f"{entry['level']} {entry['logger']}"] += 1
            except (ValueError, KeyError, TypeError):
                counts["other"] += 1
        return dict(counts.most_common())

    def log_tail(self, name: str, lines: int = 15) -> str:
        return log_tail(self.workdir / f"{name}.log", lines)

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        stop_all(self.running.values(), timeout_s=15)


def cluster_on_port(listing: str, port: int) -> tuple[str, str] | None:
    """The ``(version, name)`` of the cluster listening on ``port`` in ``pg_lsclusters --no-header``'s output."""
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == str(port):
            return fields[0], fields[1]
    return None


def postgres_cluster(url: str) -> tuple[str, str]:
    """The ``(version, name)`` of the machine's PostgreSQL cluster serving ``url`` (found by its port)."""
    parsed = make_url(url)
    if parsed.host not in (None, "", "127.0.0.1", "localhost", "::1"):
        raise RuntimeError(f"the soak restarts PostgreSQL on this machine; {parsed.host} is elsewhere")
    try:
        listing = subprocess.run(
            ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RuntimeError(f"cannot list this machine's PostgreSQL clusters (pg_lsclusters): {exc}") from None
    found = cluster_on_port(listing, parsed.port or 5432)
    if found is None:
        raise RuntimeError(f"no PostgreSQL cluster of this machine listens on port {parsed.port or 5432}")
    return found


def _pg_ctl(cluster: tuple[str, str], action: str) -> None:
    subprocess.run(  # the machine's own PostgreSQL, restarted on purpose (a fault of the soak)
        ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action],
        check=True,
        capture_output=True,
        timeout=120,
    )


def postgres_ready(url: str) -> bool:
    """Whether PostgreSQL at ``url`` answers a query now."""
    engine = create_engine(url, pool_pre_ping=False, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure to connect or query: not ready
        return False
    finally:
        engine.dispose()


def restart_postgres(cluster: tuple[str, str], url: str, timeout_s: float = 120.0) -> None:
    """Restart the cluster and return once ``url`` answers again."""
    _pg_ctl(cluster, "restart")
    deadline = time.monotonic() + timeout_s
    while not postgres_ready(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not answer within {timeout_s:g} s of its restart")
        time.sleep(0.2)


def ensure_postgres_up(cluster: tuple[str, str], url: str) -> None:
    """Start the cluster if it does not answer (the soak's way out, whatever happened before)."""
    if postgres_ready(url):
        return
    with contextlib.suppress(subprocess.CalledProcessError):  # already starting: checked next
        _pg_ctl(cluster, "start")
    deadline = time.monotonic() + 120
    while not postgres_ready(url) and time.monotonic() < deadline:
        time.sleep(0.5)
