"""Tiers and the ladder they form.

A :class:`Tier` is one rung: a name, its rank on the ladder, the models it may use (tried in
order), the Composite Quality Score an answer needs to stay there, how many attempts an item gets
before it climbs, and how many agents work each attempt. A :class:`Ladder` is any number of tiers
in strictly increasing rank.

>>> ladder = Ladder.default()
>>> [t.name for t in ladder]
['cheap', 'capable', 'premium']
>>> ladder.next_after(ladder["cheap"]).name
'capable'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar

from escalade.exceptions import ConfigError

__all__ = ["DEFAULT_TIER_SETTINGS", "Ladder", "Tier"]


@dataclass(frozen=True, kw_only=True)
class Tier:
    """One rung of the ladder.

    >>> Tier(name="cheap", rank=0, models=("gpt-4o-mini",), threshold=75, min_attempts=2)
    Tier(name='cheap', rank=0, models=('gpt-4o-mini',), threshold=75.0, min_attempts=2, team_size=1)
    """

    #: Short unique name (``cheap``, ``capable``, ``premium`` by default).
    name: str
    #: Position on the ladder; lower ranks are tried first.
    rank: int
    #: Models this tier may use, in the order attempts try them.
    models: tuple[str, ...] = field(default=())
    #: Composite Quality Score (0–100) an answer needs to stay on this tier.
    threshold: float = 75.0
    #: Attempts an item gets on this tier before it climbs (fewer if it passes or stagnates).
    min_attempts: int = 1
    #: Agents per attempt (1: single agent, 2: planner + executor, 3: architect + executor + reviewer).
    team_size: int = 1

    CHEAP: ClassVar[Tier]
    CAPABLE: ClassVar[Tier]
    PREMIUM: ClassVar[Tier]

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "threshold", float(self.threshold))
        if not self.name or not self.name.strip():
            raise ConfigError("a tier needs a non-empty name", field="name")
        if not 0.0 <= self.threshold <= 100.0:
            raise ConfigError(f"must be between 0 and 100, got {self.threshold}", field=f"{self.name}.threshold")
        if self.min_attempts < 1:
            raise ConfigError(f"must be at least 1, got {self.min_attempts}", field=f"{self.name}.min_attempts")
        if not 1 <= self.team_size <= 3:
            raise ConfigError(f"must be 1, 2 or 3, got {self.team_size}", field=f"{self.name}.team_size")

    @property
    def value(self) -> str:
        """The tier's name, as seed 000's enum-style ``Tier.CHEAP.value`` reads it (``'cheap'``)."""
        return self.name

    def with_models(self, models: Iterable[str]) -> Tier:
        """Return a copy of this tier using ``models``."""
        return replace(self, models=tuple(models))

    def __str__(self) -> str:
        return self.name


#: Defaults for the three named tiers: (rank, CQS threshold, min attempts, team size).
DEFAULT_TIER_SETTINGS: dict[str, tuple[int, float, int, int]] = {
    "cheap": (0, 75.0, 2, 1),
    "capable": (1, 85.0, 1, 2),
    "premium": (2, 90.0, 1, 3),
}

Tier.CHEAP = Tier(name="cheap", rank=0, threshold=75.0, min_attempts=2, team_size=1)
Tier.CAPABLE = Tier(name="capable", rank=1, threshold=85.0, min_attempts=1, team_size=2)
Tier.PREMIUM = Tier(name="premium", rank=2, threshold=90.0, min_attempts=1, team_size=3)


class Ladder(Sequence[Tier]):
    """An ordered, immutable sequence of tiers with unique names and strictly rising ranks."""

    __slots__ = ("_tiers",)

    def __init__(self, tiers: Iterable[Tier]) -> None:
        ordered = tuple(sorted(tiers, key=lambda t: t.rank))
        if not ordered:
            raise ConfigError("the ladder needs at least one tier", field="tiers")
        names = [t.name for t in ordered]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"tier names must be unique, repeated: {', '.join(dupes)}", field="tiers")
        ranks = [t.rank for t in ordered]
        if len(set(ranks)) != len(ranks):
            raise ConfigError("tier ranks must be unique", field="tiers")
        self._tiers = ordered

    @classmethod
    def default(cls) -> Ladder:
        """The cheap → capable → premium ladder with the seed's defaults and no models yet."""
        return cls((Tier.CHEAP, Tier.CAPABLE, Tier.PREMIUM))

    def __getitem__(self, key: int | str | slice) -> Tier:  # type: ignore[override]  # also by name
        if isinstance(key, str):
            for tier in self._tiers:
                if tier.name == key:
                    return tier
            raise KeyError(f"no tier named {key!r}; tiers: {', '.join(t.name for t in self._tiers)}")
        if isinstance(key, slice):
            raise TypeError("slice a ladder with list(ladder)[...]")
        return self._tiers[key]

    def __len__(self) -> int:
        return len(self._tiers)

    def __iter__(self) -> Iterator[Tier]:
        return iter(self._tiers)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ladder) and self._tiers == other._tiers

    def __hash__(self) -> int:
        return hash(self._tiers)

    def __repr__(self) -> str:
        return f"Ladder({list(self._tiers)!r})"

    @property
    def names(self) -> tuple[str, ...]:
        """Tier names, cheapest first."""
        return tuple(t.name for t in self._tiers)

    def index_of(self, tier: Tier | str) -> int:
        """Position of ``tier`` (or its name) on the ladder."""
        name = tier if isinstance(tier, str) else tier.name
        for i, t in enumerate(self._tiers):
            if t.name == name:
                return i
        raise KeyError(f"no tier named {name!r}; tiers: {', '.join(self.names)}")

    def next_after(self, tier: Tier | str) -> Tier | None:
        """The tier above ``tier``, or ``None`` at the top."""
        i = self.index_of(tier)
        return self._tiers[i + 1] if i + 1 < len(self._tiers) else None

    @property
    def top(self) -> Tier:
        """The highest tier (the premium baseline runs here)."""
        return self._tiers[-1]

    def replace_tier(self, tier: Tier) -> Ladder:
        """A copy with the tier of the same name replaced by ``tier``."""
        self.index_of(tier.name)
        return Ladder(tier if t.name == tier.name else t for t in self._tiers)
