"""``escalade serve`` refuses bad options in one line, before it starts a server (none is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalade.service import ADMIN_KEY_ENV
from tests.cli.helpers import invoke


@pytest.fixture(autouse=True)
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check that let a bad option through would start uvicorn: fail the test instead."""

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("escalade serve started a server")

    monkeypatch.setattr("uvicorn.run", started)
    monkeypatch.delenv(ADMIN_KEY_ENV, raising=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--port", "0"), "--port must be in 1..65535, got 0"),
        (("--port", "70000"), "--port must be in 1..65535"),
        (("--port", "http"), "--port"),
        (("--workers", "0"), "--workers must be at least 1, got 0"),
        (("--config", "missing.toml"), "config file not found"),
        (("--files-root", "no/such/folder"), "--files-root is not a folder"),
        (("--provider", "cohere"), "provider"),
        (("--provider", "replay"), "dataset"),
        (("--timeout", "0"), "timeout_s"),
        (("--max-body-bytes", "10"), "max_body_bytes"),
        (("--unknown-prices", "maybe"), "unknown_prices"),
        (("--jobs", "celery"), "jobs"),
        (("--hold-ttl", "0"), "hold_ttl_s"),
        (("--log-level", "loud"), "--log-level"),
    ],
)
def test_a_bad_option_is_refused(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    code, out, err = invoke("serve", *args, "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert code != 0
    assert message in err + out
    assert "Traceback" not in err + out


def test_a_short_admin_key_is_refused_before_the_port_is_taken(tmp_path: Path) -> None:
    code, _, err = invoke("serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", env={ADMIN_KEY_ENV: "short"})
    assert code != 0
    assert ADMIN_KEY_ENV in err
    assert "short" not in err.replace(ADMIN_KEY_ENV, "")
