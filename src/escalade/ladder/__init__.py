"""The tier ladder: tiers, the ladder they form, and the configuration of a run on it."""

from escalade.ladder._config import (
    ENV_PREFIX,
    MAX_USD,
    NULLABLE_FIELDS,
    RESERVED_ENV_VARS,
    EscalationConfig,
    load_config,
)
from escalade.ladder._tiers import DEFAULT_TIER_SETTINGS, Ladder, Tier

__all__ = [
    "DEFAULT_TIER_SETTINGS",
    "ENV_PREFIX",
    "MAX_USD",
    "NULLABLE_FIELDS",
    "RESERVED_ENV_VARS",
    "EscalationConfig",
    "Ladder",
    "Tier",
    "load_config",
]
