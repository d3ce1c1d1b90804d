"""ServiceSettings: the environment round trip each uvicorn worker relies on, and bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalade.exceptions import ConfigError
from escalade.service import ADMIN_KEY_ENV, ServiceSettings


def test_every_field_survives_the_environment(tmp_path: Path) -> None:
    settings = ServiceSettings(
        database_url="postgresql+psycopg://db/escalade",
        provider="replay",
        base_url="http://127.0.0.1:9/v1",
        dataset=tmp_path / "d.jsonl",
        config=tmp_path / "c.toml",
        timeout_s=2.5,
        unknown_prices="allow",
        max_body_bytes=4096,
        files_root=tmp_path,
        jobs="inprocess",
        replica="r1",
        cache_ttl_s=0.25,
        hold_ttl_s=45.0,
    )
    env = settings.to_env()
    assert all(name.startswith("ESCALADE_SERVE_") for name in env)
    assert ServiceSettings.from_env(env) == settings


def test_unset_fields_are_handed_over_as_unset() -> None:
    env = ServiceSettings().to_env()
    assert env["ESCALADE_SERVE_DATABASE_URL"] == ""
    assert ServiceSettings.from_env(env) == ServiceSettings()
    assert ServiceSettings.from_env({}) == ServiceSettings()


def test_stale_variables_never_override_what_serve_was_given() -> None:
    """A worker reads only what the command handed over: every ESCALADE_SERVE_* already set is replaced."""
    env = {"ESCALADE_SERVE_FILES_ROOT": "/", "ESCALADE_SERVE_BASE_URL": "http://elsewhere.example/v1", "HOME": "/h"}
    ServiceSettings.hand_over(ServiceSettings(), env)
    assert ServiceSettings.from_env(env) == ServiceSettings()
    assert env["HOME"] == "/h"


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"ESCALADE_SERVE_TIMEOUT_S": "soon"}, "ESCALADE_SERVE_TIMEOUT_S"),
        ({"ESCALADE_SERVE_MAX_BODY_BYTES": "1.5"}, "ESCALADE_SERVE_MAX_BODY_BYTES"),
        ({"ESCALADE_SERVE_TIMEOUT_S": "-1"}, "timeout_s"),
        ({"ESCALADE_SERVE_TIMEOUT_S": "nan"}, "timeout_s"),
        ({"ESCALADE_SERVE_MAX_BODY_BYTES": "100"}, "max_body_bytes"),
        ({"ESCALADE_SERVE_PROVIDER": "cohere"}, "provider"),
        ({"ESCALADE_SERVE_PROVIDER": "replay"}, "dataset"),
        ({"ESCALADE_SERVE_UNKNOWN_PRICES": "maybe"}, "unknown_prices"),
        ({"ESCALADE_SERVE_JOBS": "celery"}, "jobs"),
        ({"ESCALADE_SERVE_CACHE_TTL_S": "-1"}, "cache_ttl_s"),
        ({"ESCALADE_SERVE_MAX_OPEN_WORKFLOWS": "0"}, "max_open_workflows"),
        ({"ESCALADE_SERVE_CACHE_TTL_S": "3600"}, "cache_ttl_s"),
        ({"ESCALADE_SERVE_CACHE_TTL_S": "inf"}, "cache_ttl_s"),
        ({"ESCALADE_SERVE_HOLD_TTL_S": "0.5"}, "hold_ttl_s"),
        ({"ESCALADE_SERVE_HOLD_TTL_S": "nan"}, "hold_ttl_s"),
    ],
)
def test_a_bad_value_names_its_field(env: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ServiceSettings.from_env(env)
    assert caught.value.field == field


def test_the_admin_key_is_read_from_the_environment() -> None:
    assert ServiceSettings.admin_key({}) is None
    assert ServiceSettings.admin_key({ADMIN_KEY_ENV: "   "}) is None
    key = ServiceSettings.admin_key({ADMIN_KEY_ENV: " a-long-enough-admin-key "})
    assert key is not None
    assert key.value == "a-long-enough-admin-key"
    assert "a-long-enough" not in repr(key)


def test_a_short_admin_key_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        ServiceSettings.admin_key({ADMIN_KEY_ENV: "short"})
    assert caught.value.field == ADMIN_KEY_ENV
