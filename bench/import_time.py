"""Start-up time: ``import escalade`` and ``escalade --help`` against bare Python and Typer + Rich.

    .venv/bin/python -m bench.import_time            # 20 rounds (about a minute)
    .venv/bin/python -m bench.import_time --runs 10

Each round starts a fresh interpreter for each of the commands below, one after the other, so that
all of them see the same machine; one round runs first uncounted (it also writes the bytecode
caches, as an install does). A two-command Typer app's ``--help`` is timed too: the floor of any
Typer + Rich command line. For each command the median over the rounds is reported of the wall
time and of the CPU time the process used (user + system, the steadier figure on a busy machine),
with the ratio of each to ``python -c pass`` and the goal's ratio, ``escalade --help`` to
``import typer, rich`` (at most 2).

The children run without ``PYTHONDONTWRITEBYTECODE`` so that they read cached bytecode, as an
installed escalade does.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench._common import ROOT, write_result

#: The goal of issue 14: ``escalade --help`` takes at most this many times ``import typer, rich``.
GOAL_RATIO = 2.0

#: The floor of any Typer + Rich command line: a two-command app's ``--help``.
_TYPER_APP = """
import typer
app = typer.Typer(add_completion=False)
@app.command()
def hello(name: str = "x") -> None:
    "Say hello."
@app.command()
def bye(name: str = "x") -> None:
    "Say goodbye."
app()
"""


def _commands() -> dict[str, list[str]]:
    """What is timed, by name; ``escalade --help`` through the console script when it is installed."""
    python = sys.executable
    script = shutil.which("escalade", path=os.path.dirname(python))
    return {
        "python -c pass": [python, "-c", "pass"],
        "import typer, rich": [python, "-c", "import typer, rich"],
        "import escalade": [python, "-c", "import escalade"],
        "2-command Typer --help": [python, "-c", _TYPER_APP, "--help"],
        "escalade --help": [script, "--help"] if script else [python, "-m", "escalade.cli", "--help"],
    }


def _shown(command: list[str]) -> str:
    """``command`` as a shell would take it, with paths inside the repository relative to it."""
    words = ["<the two-command Typer app>" if "\n" in word else word for word in command]
    return shlex.join(os.path.relpath(w, ROOT) if w.startswith(str(ROOT)) else w for w in words)


def _once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command`` (its output discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(runs: int) -> dict[str, Any]:
    """Median wall and CPU milliseconds of each command over ``runs`` interleaved rounds, and their ratios."""
    commands = _commands()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for round_ in range(runs + 1):
        for name, command in commands.items():
            wall, cpu = _once(command, env)
            if round_:  # the first round warms the caches
                samples[name].append((wall, cpu))
    medians = {
        name: {
            "wall_ms": round(1000 * statistics.median(w for w, _ in got), 1),
            "cpu_ms": round(1000 * statistics.median(c for _, c in got), 1),
        }
        for name, got in samples.items()
    }
    bare, typer_rich = medians["python -c pass"], medians["import typer, rich"]
    for figures in medians.values():
        figures["wall_x_bare"] = round(figures["wall_ms"] / bare["wall_ms"], 2)
        figures["cpu_x_bare"] = round(figures["cpu_ms"] / bare["cpu_ms"], 2)
    help_, typer_app = medians["escalade --help"], medians["2-command Typer --help"]
    goal: dict[str, Any] = {
        "help_over_typer_rich_wall": round(help_["wall_ms"] / typer_rich["wall_ms"], 2),
        "help_over_typer_rich_cpu": round(help_["cpu_ms"] / typer_rich["cpu_ms"], 2),
        "typer_app_over_typer_rich_wall": round(typer_app["wall_ms"] / typer_rich["wall_ms"], 2),
        "typer_app_over_typer_rich_cpu": round(typer_app["cpu_ms"] / typer_rich["cpu_ms"], 2),
        "at_most": GOAL_RATIO,
    }
    goal["met"] = goal["help_over_typer_rich_wall"] <= GOAL_RATIO  # the goal is stated in wall time
    return {
        "runs": runs,
        "commands": {name: _shown(command) for name, command in commands.items()},
        "medians": medians,
        "goal_help_vs_typer_rich": goal,
    }


def _table(result: dict[str, Any]) -> str:
    lines = [f"{'command':24} {'wall ms':>8} {'x pass':>7} {'cpu ms':>8} {'x pass':>7}"]
    for name, m in result["medians"].items():
        lines.append(f"{name:24} {m['wall_ms']:8.1f} {m['wall_x_bare']:7.2f} {m['cpu_ms']:8.1f} {m['cpu_x_bare']:7.2f}")
    goal = result["goal_help_vs_typer_rich"]
    verdict = "met" if goal["met"] else "missed"
    lines.append(
        f"escalade --help / import typer, rich: wall {goal['help_over_typer_rich_wall']:.2f} "
        f"(goal <= {goal['at_most']:g}: {verdict}), cpu {goal['help_over_typer_rich_cpu']:.2f}"
    )
    lines.append(
        f"2-command Typer --help / import typer, rich: wall {goal['typer_app_over_typer_rich_wall']:.2f}, "
        f"cpu {goal['typer_app_over_typer_rich_cpu']:.2f}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.import_time", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="counted rounds, at least 10 (default 20)")
    args = parser.parse_args(argv)
    if args.runs < 10:
        parser.error("--runs must be at least 10")
    result = measure(args.runs)
    print(_table(result), file=sys.stderr)
    write_result("import_time", result)


if __name__ == "__main__":
    main()
