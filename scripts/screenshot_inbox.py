"""Take docs/images/inbox.png: the web inbox with a few grouped items, in the system's headless Chromium.

Run from the repository's root: ``.venv/bin/python scripts/screenshot_inbox.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' live server (tests/service/web/site.py)

from playwright.sync_api import sync_playwright  # noqa: E402  # after the path is set

from tests.service.web.site import CHROMIUM, running_site, screenshot_inbox  # noqa: E402


def main() -> None:
    """Start a server on a scratch database, fill its inbox, sign in and take the picture."""
    out = ROOT / "docs" / "images" / "inbox.png"
    with tempfile.TemporaryDirectory() as folder, running_site(Path(folder)) as site, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        screenshot_inbox(browser.new_page(), site, out)
        browser.close()
    print(out)


if __name__ == "__main__":
    main()
