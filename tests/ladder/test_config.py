"""Configuration: defaults, TOML and environment loading, and errors that name field and source."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig, Ladder, Tier, load_config


def test_defaults_match_the_seed() -> None:
    """Default ladder, thresholds, attempts and stagnation settings are the seed's."""
    cfg = EscalationConfig()
    assert cfg.enabled
    assert cfg.tiers.names == ("cheap", "capable", "premium")
    assert [t.threshold for t in cfg.tiers] == [75.0, 85.0, 90.0]
    assert [t.min_attempts for t in cfg.tiers] == [2, 1, 1]
    assert [t.team_size for t in cfg.tiers] == [1, 2, 3]
    assert (cfg.stagnation_threshold, cfg.stagnation_window) == (0.05, 2)
    assert (cfg.max_cost, cfg.auto_approve_under) == (10.0, 1.0)
    assert cfg.abort_on_budget_exceeded
    assert not cfg.warn_on_budget_exceeded


def test_config_is_frozen_and_replace_validates() -> None:
    """Configs are immutable; replace() builds a validated copy."""
    cfg = EscalationConfig()
    with pytest.raises(AttributeError):
        cfg.max_cost = 3.0  # type: ignore[misc]
    assert cfg.replace(max_cost=3.0).max_cost == 3.0
    with pytest.raises(ConfigError, match="max_cost"):
        cfg.replace(max_cost=-1.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_cost", 0.0),
        ("max_cost", 1e10),
        ("auto_approve_under", -0.5),
        ("stagnation_threshold", 1.5),
        ("stagnation_window", 1),
        ("max_concurrency", 0),
        ("max_output_tokens", 0),
        ("max_calls_per_request", 0),
        ("max_retries", -1),
        ("retry_backoff_s", float("nan")),
        ("retry_max_wait_s", 0.1),
    ],
)
def test_invalid_values_name_the_field(field: str, value: float) -> None:
    """Each invalid scalar raises ConfigError naming its field."""
    with pytest.raises(ConfigError, match=field):
        EscalationConfig().replace(**{field: value})


def test_with_tier_changes_one_tier() -> None:
    """with_tier() replaces one tier's settings and keeps the others."""
    cfg = EscalationConfig().with_tier("cheap", min_attempts=3, models=("m1",))
    assert cfg.tiers["cheap"].min_attempts == 3
    assert cfg.tiers["cheap"].models == ("m1",)
    assert cfg.tiers["capable"] == EscalationConfig().tiers["capable"]


def test_toml_file_is_loaded(tmp_path: Path) -> None:
    """A TOML file sets scalars and tiers; tiers omitted values keep the named defaults."""
    path = tmp_path / "escalade.toml"
    path.write_text(
        """
max_cost = 2.5
auto_approve_under = 0.5
abort_on_budget_exceeded = false
warn_on_budget_exceeded = true

[[tiers]]
name = "cheap"
models = ["small"]

[[tiers]]
name = "premium"
models = ["big"]
threshold = 95
"""
    )
    cfg = load_config(path, env={})
    assert cfg.max_cost == 2.5
    assert not cfg.abort_on_budget_exceeded
    assert cfg.warn_on_budget_exceeded
    assert cfg.tiers.names == ("cheap", "premium")
    assert cfg.tiers["cheap"].min_attempts == 2
    assert cfg.tiers["cheap"].threshold == 75.0
    assert cfg.tiers["premium"].threshold == 95.0


def test_environment_overrides_file(tmp_path: Path) -> None:
    """ESCALADE_* variables win over the file, tier variables included."""
    path = tmp_path / "c.toml"
    path.write_text("max_cost = 2.5\n")
    env = {
        "ESCALADE_MAX_COST": "7",
        "ESCALADE_ENABLED": "false",
        "ESCALADE_CHEAP_MODELS": "a, b",
        "ESCALADE_CAPABLE_MIN_ATTEMPTS": "3",
        "ESCALADE_AUTO_APPROVE_UNDER": "none",
        "ESCALADE_DATABASE_URL": "sqlite://",  # reserved: read elsewhere, not an error
        "OTHER": "x",
    }
    cfg = load_config(path, env=env)
    assert cfg.max_cost == 7.0
    assert not cfg.enabled
    assert cfg.auto_approve_under is None
    assert cfg.tiers["cheap"].models == ("a", "b")
    assert cfg.tiers["capable"].min_attempts == 3


def test_overrides_win_over_everything() -> None:
    """Keyword overrides are applied last."""
    assert load_config(env={"ESCALADE_MAX_COST": "7"}, max_cost=1.0).max_cost == 1.0


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("max_cost = -1\n", r"c\.toml, field 'max_cost'"),
        ("max_cots = 1\n", r"c\.toml, field 'max_cots': Extra inputs are not permitted"),
        ("stagnation_window = 1\n", r"field 'stagnation_window'"),
        ("max_cost = 'lots'\n", r"field 'max_cost'"),
        ('[[tiers]]\nname = "cheap"\nthreshold = 120\n', r"c\.toml, field 'tiers\.cheap\.threshold'"),
        ('[[tiers]]\nname = "cheap"\nmin_attempts = 0\n', r"field 'tiers\.cheap\.min_attempts'"),
        ('[[tiers]]\nname = "cheap"\nteam_size = 4\n', r"field 'tiers\.cheap\.team_size'"),
        ('[[tiers]]\nname = "cheap"\nmodel = ["x"]\n', r"field 'tiers\.cheap\.model'"),
        ('[[tiers]]\nname = "expert"\n', r"tier 'expert' is not one of cheap, capable, premium"),
        ('[[tiers]]\nname = "cheap"\n[[tiers]]\nname = "cheap"\n', r"tier names must be unique"),
        ("max_cost = \n", r"c\.toml: not valid TOML"),
        ('max_cost = "5"\n', r"c\.toml, field 'max_cost': Input should be a valid number"),
        ('enabled = "yes"\n', r"c\.toml, field 'enabled': Input should be a valid boolean"),
        ("max_cost = inf\n", r"c\.toml, field 'max_cost'"),
        ('stagnation_window = "none"\n', r"c\.toml, field 'stagnation_window'"),
        ("tiers = []\n", r"c\.toml, field 'tiers': the ladder needs at least one tier"),
        ('tiers = "x"\n', r"c\.toml, field 'tiers'"),
        (
            '[[tiers]]\nname = "cheap"\nrank = 1\n[[tiers]]\nname = "premium"\nrank = 1\n',
            r"c\.toml.*ranks must be unique",
        ),
        ("a = " + "[" * 100_000 + "]" * 100_000 + "\n", r"c\.toml: nested too deeply"),
        ("max_cost = " + "1" * 5000 + "\n", r"c\.toml: holds an integer of more than 4,300 digits"),
        ('[[tiers]]\nname = "cheap"\nmodels = ["a\\u0000b"]\n', r"field 'tiers\.cheap\.models': .*NUL character"),
        ('[[tiers]]\nname = "' + "x" * 101 + '"\n', r"field 'tiers\.x+\.name': .*101 characters long"),
    ],
)
def test_bad_file_values_name_field_and_file(tmp_path: Path, text: str, pattern: str) -> None:
    """Invalid TOML content fails with a message naming the file and the field."""
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=pattern):
        load_config(path, env={})


def test_none_switches_limits_off(tmp_path: Path) -> None:
    """``none`` disables max_cost or auto_approve_under, in TOML and in the environment."""
    path = tmp_path / "c.toml"
    path.write_text('max_cost = "none"\n')
    cfg = load_config(path, env={"ESCALADE_AUTO_APPROVE_UNDER": "None"})
    assert (cfg.max_cost, cfg.auto_approve_under) == (None, None)


def test_config_path_from_environment(tmp_path: Path) -> None:
    """ESCALADE_CONFIG names the file when no path is given."""
    path = tmp_path / "c.toml"
    path.write_text("max_cost = 3.0\n")
    assert load_config(env={"ESCALADE_CONFIG": str(path)}).max_cost == 3.0
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(env={"ESCALADE_CONFIG": str(tmp_path / "absent.toml")})


def test_not_utf8_file(tmp_path: Path) -> None:
    """A config file that is not UTF-8 is a clear error."""
    path = tmp_path / "c.toml"
    path.write_bytes(b"max_cost = 1\n\xff\xfe")
    with pytest.raises(ConfigError, match=r"c\.toml: config file is not UTF-8"):
        load_config(path, env={})


def test_env_tier_var_with_file_tiers(tmp_path: Path) -> None:
    """Environment tier variables override fields of the file's tiers, by name."""
    path = tmp_path / "c.toml"
    path.write_text('[[tiers]]\nname = "cheap"\nmodels = ["a"]\nthreshold = 60\n[[tiers]]\nname = "premium"\n')
    cfg = load_config(path, env={"ESCALADE_CHEAP_THRESHOLD": "70", "ESCALADE_PREMIUM_MODELS": "p"})
    assert cfg.tiers["cheap"].models == ("a",)
    assert cfg.tiers["cheap"].threshold == 70.0
    assert cfg.tiers["premium"].models == ("p",)
    with pytest.raises(ConfigError, match="ESCALADE_CAPABLE_MODELS: unknown setting"):
        load_config(path, env={"ESCALADE_CAPABLE_MODELS": "x"})


def test_custom_tier_with_all_values(tmp_path: Path) -> None:
    """A tier with a custom name works when it sets its threshold and attempts."""
    path = tmp_path / "c.toml"
    path.write_text('[[tiers]]\nname = "local"\nthreshold = 60\nmin_attempts = 1\n[[tiers]]\nname = "premium"\n')
    cfg = load_config(path, env={})
    assert cfg.tiers.names == ("local", "premium")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A config path that does not exist is named in the error."""
    with pytest.raises(ConfigError, match=r"nope\.toml: config file not found"):
        load_config(tmp_path / "nope.toml", env={})


@pytest.mark.parametrize(
    ("env", "pattern"),
    [
        ({"ESCALADE_MAX_COST": "-3"}, r"environment variable ESCALADE_MAX_COST, field 'max_cost'"),
        ({"ESCALADE_MAX_COTS": "3"}, r"environment variable ESCALADE_MAX_COTS: unknown setting"),
        ({"ESCALADE_CHEAP_THRESHOLD": "200"}, r"ESCALADE_CHEAP_THRESHOLD, field 'tiers\.cheap\.threshold'"),
        ({"ESCALADE_EXPERT_THRESHOLD": "50"}, r"ESCALADE_EXPERT_THRESHOLD: unknown setting"),
        ({"ESCALADE_ENABLED": "maybe"}, r"ESCALADE_ENABLED, field 'enabled'"),
        ({"ESCALADE_ABORT_ON_BUDGET_EXCEEDED": "none"}, r"ESCALADE_ABORT_ON_BUDGET_EXCEEDED, field 'abort_on"),
        ({"ESCALADE_ENABLED": ""}, r"environment variable ESCALADE_ENABLED: is empty"),
        ({"ESCALADE_MAX_COST": " "}, r"ESCALADE_MAX_COST: is empty"),
        ({"ESCALADE_STAGNATION_WINDOW": "none"}, r"ESCALADE_STAGNATION_WINDOW, field 'stagnation_window'"),
        ({"ESCALADE_MAX_CONCURRENCY": "0"}, r"ESCALADE_MAX_CONCURRENCY, field 'max_concurrency'"),
        ({"ESCALADE_MAX_COST": "inf"}, r"ESCALADE_MAX_COST, field 'max_cost'"),
        ({"ESCALADE_CHEAP_MODELS": "gpt\udcff"}, r"ESCALADE_CHEAP_MODELS, field 'tiers\.cheap\.models'.*surrogate"),
    ],
)
def test_bad_environment_values_name_the_variable(env: dict[str, str], pattern: str) -> None:
    """Invalid environment values fail naming the variable and the field."""
    with pytest.raises(ConfigError, match=pattern):
        load_config(env=env)


def test_ladder_rules() -> None:
    """A ladder orders tiers by rank, finds them by name, and rejects duplicates."""
    lad = Ladder([Tier(name="b", rank=2), Tier(name="a", rank=1)])
    assert lad.names == ("a", "b")
    assert lad["b"].rank == 2
    assert lad.next_after("a") == lad["b"]
    assert lad.next_after("b") is None
    assert lad.top.name == "b"
    with pytest.raises(KeyError, match="no tier named 'zz'"):
        lad["zz"]
    with pytest.raises(ConfigError, match="unique"):
        Ladder([Tier(name="a", rank=1), Tier(name="a", rank=2)])
    with pytest.raises(ConfigError, match="ranks must be unique"):
        Ladder([Tier(name="a", rank=1), Tier(name="b", rank=1)])
    with pytest.raises(ConfigError, match="at least one tier"):
        Ladder([])


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"name": " "}, "non-empty name"),
        ({"name": "x", "threshold": 101}, r"x\.threshold"),
        ({"name": "x", "min_attempts": 0}, r"x\.min_attempts"),
        ({"name": "x", "team_size": 0}, r"x\.team_size"),
    ],
)
def test_invalid_tier(kwargs: dict[str, object], pattern: str) -> None:
    """Tier values are validated on construction."""
    with pytest.raises(ConfigError, match=pattern):
        Tier(rank=0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("var", ["ESCALADE_MASTER_KEY", "ESCALADE_AUDIT_KEY"])
def test_key_variables_are_not_config_fields(monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    """The keys for stored provider keys and for the audit trail are reserved, not unknown settings."""
    monkeypatch.setenv(var, "x")
    load_config()


def test_call_and_retry_settings_from_environment_and_file(tmp_path: Path) -> None:
    """The call ceiling, retries and rate-limit policy load from TOML and the environment; none lifts the ceiling."""
    path = tmp_path / "calls.toml"
    path.write_text("max_calls_per_request = 6\nmax_retries = 1\nescalate_on_rate_limit = false\n", encoding="utf-8")
    from_file = load_config(path, env={})
    assert (from_file.max_calls_per_request, from_file.max_retries, from_file.escalate_on_rate_limit) == (6, 1, False)
    env = {
        "ESCALADE_MAX_CALLS_PER_REQUEST": "none",
        "ESCALADE_RETRY_MAX_WAIT_S": "5",
        "ESCALADE_RETRY_BACKOFF_S": "0.25",
    }
    from_env = load_config(path, env=env)
    assert (from_env.max_calls_per_request, from_env.retry_max_wait_s, from_env.retry_backoff_s) == (None, 5.0, 0.25)
    with pytest.raises(ConfigError, match="ESCALADE_MAX_RETRIES"):
        load_config(env={"ESCALADE_MAX_RETRIES": "many"})
