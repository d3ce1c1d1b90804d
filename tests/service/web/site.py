"""A live ``escalade serve`` for the web inbox's tests: uvicorn on a loopback port, in a thread, on a SQLite file.

Items are put in its inbox the way ``POST /v1/decisions`` does: the engine evaluates a decision on
the same store, and each escalated one becomes an item. ``scripts/screenshot_inbox.py`` uses it too.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, expect

from escalade.autonomy import DecisionContext, EscalationEngine, parse_decision
from escalade.inbox import Inbox, InboxItem
from escalade.service import ServiceSettings, create_app
from escalade.store import SqlStore

#: Where Debian's chromium package puts the browser (``scripts/install`` installs it when missing).
CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class Site:
    """The running server's address and its store."""

    url: str
    store: SqlStore

    @property
    def inbox(self) -> Inbox:
        return Inbox(self.store.inbox, EscalationEngine(self.store.autonomy()))

    def workspace(self) -> str:
        """A new workspace's name, so that each test sees only its own items."""
        return f"w{uuid.uuid4().hex[:10]}"

    def key(self, workspace: str, *, person: str | None = None, roles: Sequence[str] = ()) -> str:
        """A new key of ``workspace`` (a per-person token with ``person``)."""
        return self.store.api_keys.create(workspace, person=person, roles=tuple(roles)).key

    def escalate(
        self,
        workspace: str,
        decision_id: str,
        description: str = "Deploy the payment service to production",
        *,
        systems: Sequence[str] = ("payments",),
        assignees: Sequence[str] = (),
    ) -> InboxItem:
        """The inbox item of a decision the engine escalated (it fails if the engine lets it proceed)."""
        engine = EscalationEngine(self.store.autonomy())
        decision = parse_decision({"id": decision_id, "description": description, "affected_systems": list(systems)})
        result = engine.evaluate(decision, DecisionContext(workspace=workspace))
        assert result.should_escalate, f"{decision_id} proceeds: pick a riskier description"
        return Inbox(self.store.inbox, engine).escalated(
            result, decision, workspace=workspace, assignees=tuple(assignees)
        )

    def item(self, workspace: str, ref: str) -> InboxItem:
        """The item as stored now."""
        return self.inbox.get(ref, workspace=workspace)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_site(folder: Path) -> Iterator[Site]:
    """A server on a fresh SQLite file in ``folder``, stopped afterwards."""
    url = f"sqlite:///{folder / 'inbox.db'}"
    with SqlStore(url) as store:
        port = _free_port()
        app = create_app(ServiceSettings(database_url=url), store=store)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive(), "the server stopped as it started"
            assert time.monotonic() < deadline, "the server did not start in 20 s"
            time.sleep(0.02)
        try:
            yield Site(url=f"http://127.0.0.1:{port}", store=store)
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def sign_in(page: Page, site: Site, key: str, name: str = "") -> None:
    """Sign in with ``key`` (and ``name``, for a workspace key) through the form; the inbox page is then shown."""
    page.goto(f"{site.url}/inbox/login")
    page.get_by_label("Key or personal token").fill(key)
    if name:
        page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))


#: The screenshot's items: three on payments, two data operations on the users' database, one security change.
_SHOWN = (
    ("deploy-api", "Deploy the payment service v2.4 to production", "payments"),
    ("deploy-worker", "Deploy the payment webhooks worker to production", "payments"),
    ("rate-limit", "Raise the payments rate limit to 500 requests per second", "payments"),
    ("purge-users", "Delete 40,000 inactive user records from the users database", "users-db"),
    ("backfill", "Backfill the email column of 2 million user rows in production", "users-db"),
    ("rotate-keys", "Rotate the signing keys of the auth service", "auth"),
)


def screenshot_inbox(page: Page, site: Site, path: Path) -> Path:
    """A PNG at ``path`` of ana's inbox with a few items in groups (the picture in docs/inbox.md)."""
    workspace = site.workspace()
    for decision_id, description, system in _SHOWN:
        site.escalate(workspace, decision_id, description, systems=[system])
    page.set_viewport_size({"width": 1100, "height": 900})
    sign_in(page, site, site.key(workspace, person="ana", roles=["sre"]))
    expect(page.locator(".group")).to_have_count(3)
    page.locator("details").first.evaluate("(d) => { d.open = true }")  # one form shown open
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
