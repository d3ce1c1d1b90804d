"""Workspace preferences: the bounds a workspace puts on routing.

Order of precedence, strongest first:

1. a per-request **override** (``route(..., override="premium")``) names the tier outright, even
   outside the workspace's bounds: the caller asked for it explicitly;
2. the workspace's **bounds** ``min_tier`` and ``max_tier`` clamp whatever was decided;
3. the **classification**: validated triggers (when ``auto_escalation`` is on) raise the start tier
   above the classifier's choice; with no classifier the start is ``default_tier``.

``preferred_providers`` orders each tier's models so that those of the preferred providers come
first (``openai/gpt-4o`` belongs to provider ``openai``); it never adds or removes models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from escalade.exceptions import ConfigError
from escalade.ladder import Ladder

__all__ = ["WorkspacePreferences"]


@dataclass(frozen=True, kw_only=True)
class WorkspacePreferences:
    """Routing bounds of one workspace; tier names must exist on the ladder they are used with."""

    min_tier: str | None = None
    max_tier: str | None = None
    #: Start tier when no classifier is configured.
    default_tier: str | None = None
    preferred_providers: tuple[str, ...] = ()
    #: Whether triggers may raise the start tier; when off they are reported but do not act.
    auto_escalation: bool = True

    def check(self, ladder: Ladder) -> None:
        """Raise :class:`ConfigError` if a tier named here is not on ``ladder`` or the bounds cross."""
        for field in ("min_tier", "max_tier", "default_tier"):
            name = getattr(self, field)
            if name is not None and name not in ladder.names:
                raise ConfigError(f"no tier named {name!r}; tiers: {', '.join(ladder.names)}", field=field)
        if self.min_tier and self.max_tier and ladder.index_of(self.min_tier) > ladder.index_of(self.max_tier):
            raise ConfigError(f"min_tier {self.min_tier!r} is above max_tier {self.max_tier!r}", field="min_tier")

    def clamp(self, ladder: Ladder, index: int) -> tuple[int, str | None]:
        """``index`` within the bounds, and why it moved (``None`` when it did not)."""
        low = ladder.index_of(self.min_tier) if self.min_tier else 0
        high = ladder.index_of(self.max_tier) if self.max_tier else len(ladder) - 1
        if index < low:
            return low, f"raised to the workspace's min_tier {self.min_tier!r}"
        if index > high:
            return high, f"capped at the workspace's max_tier {self.max_tier!r}"
        return index, None

    def order_models(self, models: Sequence[str]) -> tuple[str, ...]:
        """``models`` with those of preferred providers first, in preference order; stable otherwise."""
        if not self.preferred_providers:
            return tuple(models)

        def rank(model: str) -> int:
            for i, provider in enumerate(self.preferred_providers):
                if model.lower().startswith(f"{provider.lower()}/"):
                    return i
            return len(self.preferred_providers)

        return tuple(sorted(models, key=rank))
