"""The processes of the benchmark: the fake upstream, ``escalade serve`` and LiteLLM's proxy.

Each is started on a free loopback port and waited for; :class:`Processes` stops them all (SIGTERM,
then SIGKILL) even after an error. LiteLLM lives in its own virtual environment,
``bench/.venvs/litellm`` (gitignored), made on first use with ``pip install 'litellm[proxy]'``: it is
never a dependency of escalade. It runs with no database, no master key and no callbacks, and with
its price map read from the package rather than fetched.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from bench._common import ROOT, free_port, log_tail, stop_all, wait_ready

__all__ = ["LITELLM_VENV", "Processes", "free_port", "litellm_version", "process_cpu_s"]

LITELLM_VENV = ROOT / "bench" / ".venvs" / "litellm"
#: The upstream key every target sends (the fake upstream reads none).
FAKE_KEY = "sk-bench-not-a-real-key"
#: LiteLLM's master key, sent by the load generator like escalade's workspace key.
LITELLM_MASTER_KEY = "sk-" + "0123456789abcdef" * 4
_ESCALADE = Path(sys.executable).with_name("escalade")
_KEY = re.compile(r"esk_[A-Za-z0-9_-]+")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its living descendants (uvicorn workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
        todo.extend(_children(current))
    return total


@dataclass
class Processes:
    """The running processes, by name; a context manager that stops them all."""

    workdir: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(
        self, name: str, argv: Sequence[str], ready_url: str, *, env: Mapping[str, str | None] | None = None
    ) -> None:
        """Start ``argv`` (``env`` on top of ours; ``None`` unsets) and wait up to 90 s for ``ready_url``'s 200."""
        log = (self.workdir / f"{name}.log").open("wb")
        merged = {**os.environ, **(env or {})}
        process = subprocess.Popen(  # our own commands
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in merged.items() if v is not None},
            cwd=self.workdir,
        )
        self.running[name] = process
        wait_ready(name, process, ready_url, timeout_s=90, log=self.workdir / f"{name}.log")

    def log_tail(self, name: str, lines: int = 15) -> str:
        return log_tail(self.workdir / f"{name}.log", lines)

    def pid(self, name: str) -> int:
        return self.running[name].pid

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        stop_all(self.running.values(), timeout_s=10)


def start_upstream(processes: Processes) -> str:
    """The fake upstream's base URL (``http://127.0.0.1:PORT``)."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.proxy_overhead._upstream", "--port", str(port)]
    processes.start("upstream", argv, f"http://127.0.0.1:{port}/stats", env={"PYTHONPATH": str(ROOT)})
    return f"http://127.0.0.1:{port}"


def set_delay(upstream: str, delay_ms: float) -> None:
    """Make the fake upstream answer after ``delay_ms``."""
    request = urllib.request.Request(  # loopback only
        f"{upstream}/control", data=json.dumps({"delay_ms": delay_ms}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


def completions(upstream: str) -> int:
    """How many completions the fake upstream has served."""
    with urllib.request.urlopen(f"{upstream}/stats", timeout=5) as response:
        count: int = json.load(response)["completions"]
        return count


#: One model and one attempt per tier, a team of one: ``escalade/cheap`` is one upstream call (the
#: default ladder's cheap tier asks two models), and every call of ``escalade/auto`` is counted.
LADDER = """
[[tiers]]
name = "cheap"
models = ["gpt-4.1-nano"]
min_attempts = 1
team_size = 1

[[tiers]]
name = "capable"
models = ["gpt-4.1-mini"]
team_size = 1

[[tiers]]
name = "premium"
models = ["gpt-4.1"]
team_size = 1
"""


def start_escalade(processes: Processes, upstream: str, *, workers: int) -> tuple[str, str]:
    """``escalade serve`` on a new SQLite database with :data:`LADDER`: its base URL and a workspace key."""
    db = f"sqlite:///{processes.workdir / 'escalade.db'}"
    ladder = processes.workdir / "ladder.toml"
    ladder.write_text(LADDER, encoding="utf-8")
    env = {"OPENAI_API_KEY": FAKE_KEY, "ESCALADE_MASTER_KEY": ""}
    created = subprocess.run(  # our own command
        [str(_ESCALADE), "api-key", "create", "--workspace", "bench", "--db", db],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    key = _KEY.search(created.stdout)
    if key is None:
        raise RuntimeError(f"no key in the output of escalade api-key create: {created.stdout!r}")
    port = free_port()
    argv = [
        str(_ESCALADE), "serve", "--port", str(port), "--db", db, "--provider", "openai",
        "--base-url", f"{upstream}/v1", "--config", str(ladder), "--unknown-prices", "allow", "--workers", str(workers),
        "--env-keys",
        "--log-level", "warning",
    ]  # fmt: skip
    processes.start("escalade", argv, f"http://127.0.0.1:{port}/v1/escalation/health", env=env)
    return f"http://127.0.0.1:{port}", key.group(0)


def litellm_version() -> str | None:
    """The version of LiteLLM in the bench's environment, or ``None`` when it is not installed."""
    python = LITELLM_VENV / "bin" / "python"
    if not python.exists():
        return None
    found = subprocess.run(  # our own environment
        [str(python), "-c", "from importlib.metadata import version; print(version('litellm'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or None


def ensure_litellm() -> str:
    """LiteLLM's version, after installing it into ``bench/.venvs/litellm`` if it is not there yet."""
    found = litellm_version()
    if found is not None:
        return found
    print(f"installing litellm[proxy] into {LITELLM_VENV} (first run only)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
    pip = [str(LITELLM_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "litellm[proxy]"], check=True)  # the package registry, by name
    installed = litellm_version()
    if installed is None:
        raise RuntimeError(f"litellm is not importable in {LITELLM_VENV} after installing it")
    return installed


def start_litellm(processes: Processes, upstream: str, *, workers: int) -> str:
    """LiteLLM's proxy with one model on the fake upstream: its base URL (the model is ``bench-model``)."""
    config = processes.workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: bench-model\n"
        "    litellm_params:\n"
        "      model: openai/gpt-4.1-nano\n"
        f"      api_base: {upstream}/v1\n"
        f"      api_key: {FAKE_KEY}\n",
        encoding="utf-8",
    )
    env: dict[str, str | None] = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # read the price map from the package, never fetch it
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "DISABLE_SCHEMA_UPDATE": "True",
        "DATABASE_URL": None,  # no database: no virtual keys, no spend logs (as few extras as it allows)
        "LITELLM_MASTER_KEY": LITELLM_MASTER_KEY,  # it refuses to start without one; checked in memory
    }
    port = free_port()
    argv = [
        str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config), "--host", "127.0.0.1",
        "--port", str(port), "--num_workers", str(workers),
    ]  # fmt: skip
    processes.start("litellm", argv, f"http://127.0.0.1:{port}/health/liveliness", env=env)
    return f"http://127.0.0.1:{port}"
