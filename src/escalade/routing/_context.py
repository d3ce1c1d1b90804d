"""Context analysis of the Python files a task touches: complexity, coupling, size, and what they mean.

File metrics come from :mod:`escalade.codebase` (radon's cyclomatic complexity per function, source
lines, imports). From these and the task's triggers the analysis derives three assessments, each a
:class:`Level` with the numbers behind it:

- **complexity**: points for the worst function's radon rank (A 0, B 1, C 2, D 3, E/F 4), more than
  3 files (+1), more than 500 / 2,000 source lines in all (+1 / +2), and a mean of more than 10
  imported modules per file (+1). 0–1 is low, 2 medium, 3–4 high, 5 or more critical.
- **business impact**: the strongest business-impact trigger's confidence, or 0.8 × the strongest
  security trigger's. Below 0.3 low, below 0.6 medium, below 0.85 high, else critical.
- **risk**: the higher of the two levels, one level higher when both are at least medium, and at
  least high when a file could not be parsed (what cannot be read cannot be judged safe).

A file that does not parse is reported in :attr:`ContextAnalysis.unparseable`, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from escalade.codebase import FileAnalysis, analyze_file, module_name
from escalade.routing._triggers import Task, Trigger, TriggerCategory

__all__ = ["Assessment", "ContextAnalysis", "ContextAnalyzer", "Level"]

# radon's ranks: A 1-5, B 6-10, C 11-20, D 21-30, E 31-40, F 41+
_RANK_BOUNDS = (5, 10, 20, 30)
_MANY_FILES = 3
_LARGE_SLOC, _HUGE_SLOC = 500, 2000
_HEAVY_IMPORTS = 10


class Level(IntEnum):
    """An ordered four-step scale."""

    LOW = 0
    MEDIUM = 1
    HIGH = 2
    CRITICAL = 3

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Assessment:
    """A level with the numbers it was derived from."""

    level: Level
    score: float
    basis: dict[str, float]


@dataclass(frozen=True)
class ContextAnalysis:
    """The analysed files, those that could not be analysed, and the three assessments."""

    files: tuple[FileAnalysis, ...]
    unparseable: tuple[tuple[str, str], ...]
    complexity: Assessment
    business_impact: Assessment
    risk: Assessment
    #: Imports between the analysed files themselves (module name -> importing files).
    internal_coupling: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _complexity_points(max_cc: int) -> int:
    return sum(1 for bound in _RANK_BOUNDS if max_cc > bound)


def _level(score: float, bounds: tuple[float, float, float]) -> Level:
    return Level(sum(1 for bound in bounds if score >= bound))


class ContextAnalyzer:
    """Analyses a task's Python files; contents come from the task, else from ``root``/path on disk."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root

    def _sources(self, task: Task) -> Iterable[tuple[str, str | None, str | None]]:
        """``(path, source, error)`` for each Python file of the task."""
        for path in task.files:
            if not path.endswith(".py"):
                continue
            if path in task.file_contents:
                yield path, task.file_contents[path], None
            elif self.root is not None:
                try:
                    yield path, (self.root / path).read_text(encoding="utf-8"), None
                except (OSError, UnicodeDecodeError) as exc:
                    yield path, None, f"cannot read: {exc}"

    def analyze(self, task: Task, triggers: Iterable[Trigger] = ()) -> ContextAnalysis:
        """The analysis of ``task``'s files, using its detected ``triggers`` for business impact."""
        files: list[FileAnalysis] = []
        unparseable: list[tuple[str, str]] = []
        for path, source, error in self._sources(task):
            if source is None:
                unparseable.append((path, error or "unreadable"))
                continue
            try:
                files.append(analyze_file(path, source))
            except (SyntaxError, ValueError) as exc:  # ValueError: null bytes in the source
                unparseable.append((path, f"does not parse: {exc}"))
            except (RecursionError, MemoryError):  # nested past the parser's limits (``1+1+...``, ``----1``)
                unparseable.append((path, "does not parse: nested too deeply"))
        coupling = self._internal_coupling(files)
        complexity = self._complexity(task, files)
        business = self._business(list(triggers))
        risk = self._risk(complexity, business, len(unparseable))
        return ContextAnalysis(
            files=tuple(files),
            unparseable=tuple(unparseable),
            complexity=complexity,
            business_impact=business,
            risk=risk,
            internal_coupling=coupling,
        )

    @staticmethod
    def _internal_coupling(files: list[FileAnalysis]) -> dict[str, tuple[str, ...]]:
        names = {module_name(f.path) for f in files}
        coupling: dict[str, list[str]] = {}
        for f in files:
            for module in f.imports:
                if module in names and module != module_name(f.path):
                    coupling.setdefault(module, []).append(f.path)
        return {module: tuple(paths) for module, paths in sorted(coupling.items())}

    @staticmethod
    def _complexity(task: Task, files: list[FileAnalysis]) -> Assessment:
        max_cc = max((f.max_complexity for f in files), default=0)
        sloc = sum(f.sloc for f in files)
        mean_imports = sum(len(f.imports) for f in files) / len(files) if files else 0.0
        points = (
            _complexity_points(max_cc)
            + (1 if len(task.files) > _MANY_FILES else 0)
            + (2 if sloc > _HUGE_SLOC else 1 if sloc > _LARGE_SLOC else 0)
            + (1 if mean_imports > _HEAVY_IMPORTS else 0)
        )
        level = _level(points, (2, 3, 5))
        basis = {
            "max_cyclomatic_complexity": float(max_cc),
            "files": float(len(task.files)),
            "sloc": float(sloc),
            "mean_imports_per_file": round(mean_imports, 2),
            "points": float(points),
        }
        return Assessment(level=level, score=float(points), basis=basis)

    @staticmethod
    def _business(triggers: list[Trigger]) -> Assessment:
        business = max((t.confidence for t in triggers if t.category is TriggerCategory.BUSINESS_IMPACT), default=0.0)
        security = max((t.confidence for t in triggers if t.category is TriggerCategory.SECURITY), default=0.0)
        score = max(business, 0.8 * security)
        basis = {"business_trigger": business, "security_trigger": security}
        return Assessment(level=_level(score, (0.3, 0.6, 0.85)), score=round(score, 4), basis=basis)

    @staticmethod
    def _risk(complexity: Assessment, business: Assessment, unparseable: int) -> Assessment:
        level = max(complexity.level, business.level)
        if complexity.level >= Level.MEDIUM and business.level >= Level.MEDIUM:
            level = Level(min(level + 1, Level.CRITICAL))
        if unparseable:
            level = max(level, Level.HIGH)
        basis = {
            "complexity_level": float(complexity.level),
            "business_impact_level": float(business.level),
            "unparseable_files": float(unparseable),
        }
        return Assessment(level=level, score=float(level), basis=basis)
