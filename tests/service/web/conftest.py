"""Fixtures of the web inbox's tests: one live server and one headless Chromium per module, a fresh page per test.

The browser is the system's Chromium (``/usr/bin/chromium``, installed by ``scripts/install``),
never one Playwright downloads. Without it the tests fail, never skip: CI must run them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from escalade.service import ADMIN_KEY_ENV
from tests.service.conftest import ADMIN_KEY
from tests.service.web.site import CHROMIUM, Site, running_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A live server (with the administrator's key set) for the module's tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ADMIN_KEY_ENV, ADMIN_KEY)
        with running_site(tmp_path_factory.mktemp("web")) as started:
            yield started


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, the system's."""
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}: run ./scripts/install (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a context of its own (no cookies of another test)."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()
