"""The web inbox in a real headless Chromium: sign in, see the items grouped, answer them with each form.

Each test works in a workspace of its own on the module's one server and browser, and checks what
the page says and what the store then holds (the item, and the decision's outcome with the engine).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from escalade.inbox import InboxState
from tests.service.web.site import Site, screenshot_inbox, sign_in


def _flash(page: Page) -> str:
    return page.locator(".flash").inner_text()


def _submit(page: Page, item_id: str, form: str, fields: dict[str, str], button: str) -> None:
    """Open the item's ``form``, fill ``fields`` (by label) and press ``button``."""
    card = page.locator(f"#item-{item_id}")
    card.locator("summary", has_text=form).click()
    for label, value in fields.items():
        card.get_by_label(label).fill(value)
    card.get_by_role("button", name=button).click()


def test_sign_in_with_a_workspace_key_and_a_name(page: Page, site: Site) -> None:
    """A workspace key with a name shows that person's open items, the name and workspace in the header."""
    workspace = site.workspace()
    site.escalate(workspace, "d1")
    site.escalate(workspace, "d2", assignees=["bo"])  # bo's, not ana's
    sign_in(page, site, site.key(workspace), "ana")
    expect(page.locator("header")).to_contain_text(f"ana · workspace {workspace}")
    expect(page.locator(".item")).to_have_count(1)
    expect(page.locator(".item")).to_contain_text("Deploy the payment service to production")
    expect(page.locator(".item")).to_contain_text("production_deployment")  # the rule that fired
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/inbox/login$"))
    page.goto(f"{site.url}/inbox")
    expect(page).to_have_url(re.compile(r"/inbox/login$"))  # signed out: back to the form


def test_sign_in_with_a_person_token(page: Page, site: Site) -> None:
    """A per-person token names its person (no name asked) and brings its roles: role:sre's items are shown."""
    workspace = site.workspace()
    site.escalate(workspace, "d1", assignees=["role:sre"])
    site.escalate(workspace, "d2", assignees=["ana"])
    sign_in(page, site, site.key(workspace, person="bo", roles=["sre"]))
    expect(page.locator("header")).to_contain_text("bo (sre)")
    expect(page.locator(".item")).to_have_count(1)
    expect(page.locator(".item")).to_contain_text("d1")


def test_a_bad_key_or_a_missing_name_is_refused(page: Page, site: Site) -> None:
    """Any key that is not valid gets the same words; a workspace key without a name is asked for one."""
    workspace = site.workspace()
    page.goto(f"{site.url}/inbox/login")
    for key in ("esk_0123456789ab_" + "a" * 43, "not a key at all"):
        page.get_by_label("Key or personal token").fill(key)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("key not valid")
        expect(page).to_have_url(re.compile(r"/inbox/login$"))
    page.get_by_label("Key or personal token").fill(site.key(workspace))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("give your name")


def test_approve_one_item(page: Page, site: Site) -> None:
    """Approve: the flash says so, the item leaves the list, its page says who answered, the engine has the outcome."""
    workspace = site.workspace()
    item = site.escalate(workspace, "d1")
    sign_in(page, site, site.key(workspace), "ana")
    page.locator(f"#item-{item.id}").get_by_role("button", name="Approve", exact=True).click()
    assert _flash(page) == "approved d1"
    expect(page.locator(".item")).to_have_count(0)
    answered = site.item(workspace, "d1")
    assert (answered.state, answered.answered_by) == (InboxState.ANSWERED, "ana")
    record = site.store.autonomy().get_decision(workspace, "d1")
    assert record is not None
    assert record.outcome is not None
    assert record.outcome.response == "approve"
    page.goto(f"{site.url}/inbox/items/{item.id}")
    expect(page.locator(".answered")).to_contain_text("Answered by ana")
    expect(page.locator(".answered")).to_contain_text("approve")
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)  # answered: no forms


def test_approve_a_group_but_one(page: Page, site: Site) -> None:
    """Approve all with one item kept open: the others are answered, the kept one still waits."""
    workspace = site.workspace()
    items = [site.escalate(workspace, f"d{n}", f"Deploy the payment service {n} to production") for n in (1, 2, 3)]
    sign_in(page, site, site.key(workspace), "ana")
    group = page.locator(".group")
    expect(group).to_have_count(1)
    expect(group.locator("h2")).to_contain_text("3 deployment decisions on payments")
    group.locator(f"#item-{items[1].id}").get_by_label("keep open when approving all").check()
    group.get_by_role("button", name="Approve all").click()
    assert _flash(page).startswith("approved d1, d3; kept open: 1")
    states = [site.item(workspace, i.id).state for i in items]
    assert states == [InboxState.ANSWERED, InboxState.PENDING, InboxState.ANSWERED]
    expect(page.locator(".item")).to_have_count(1)


def test_reject_with_feedback(page: Page, site: Site) -> None:
    """The feedback is kept in the item's response and in the decision's outcome."""
    workspace = site.workspace()
    item = site.escalate(workspace, "d1")
    sign_in(page, site, site.key(workspace), "ana")
    _submit(page, item.id, "Reject", {"feedback": "not on a Friday"}, "Reject")
    assert _flash(page) == "rejected d1"
    response = site.item(workspace, "d1").response
    assert response is not None
    assert (response["action"], response["feedback"]) == ("reject", "not on a Friday")
    record = site.store.autonomy().get_decision(workspace, "d1")
    assert record is not None
    assert record.outcome is not None
    assert (record.outcome.response, record.outcome.note) == ("reject", "not on a Friday")


def test_modify_with_bad_json_changes_nothing(page: Page, site: Site) -> None:
    """Parameters that are not a JSON object are an error on the page and the item still waits; good ones modify it."""
    workspace = site.workspace()
    item = site.escalate(workspace, "d1")
    sign_in(page, site, site.key(workspace), "ana")
    for bad, said in (("{replicas: 2", "not valid JSON"), ("[1, 2]", "must be a JSON object")):
        _submit(page, item.id, "Modify", {"parameters": bad}, "Approve modified")
        expect(page.locator(".flash.error")).to_contain_text(said)
        unchanged = site.item(workspace, "d1")
        assert (unchanged.state, unchanged.response) == (InboxState.PENDING, None)
    _submit(page, item.id, "Modify", {"parameters": '{"replicas": 2}'}, "Approve modified")
    assert _flash(page) == "modified d1"
    response = site.item(workspace, "d1").response
    assert response is not None
    assert response["parameters"] == {"replicas": 2}


def test_delegate_to_a_role(page: Page, site: Site) -> None:
    """Delegated to role:sre: the item is theirs now, and no longer in ana's inbox."""
    workspace = site.workspace()
    item = site.escalate(workspace, "d1")
    sign_in(page, site, site.key(workspace), "ana")
    _submit(page, item.id, "Delegate", {"delegate to": "role:sre"}, "Delegate")
    assert _flash(page) == "delegated d1 to role:sre"
    moved = site.item(workspace, "d1")
    assert (moved.state, moved.assignees) == (InboxState.DELEGATED, ("role:sre",))
    expect(page.locator(".item")).to_have_count(0)


def test_defer_for_minutes_or_until_a_local_time(page: Page, site: Site) -> None:
    """Minutes from now, or a local date and time with its offset; a bad offset is an error and nothing changes."""
    workspace = site.workspace()
    first, second = site.escalate(workspace, "d1"), site.escalate(workspace, "d2", systems=["search"])
    sign_in(page, site, site.key(workspace), "ana")
    before = datetime.now(UTC)
    _submit(page, first.id, "Defer", {"minutes": "30"}, "Defer")
    expect(page.locator(".flash")).to_contain_text("deferred d1 until")
    deferred = site.item(workspace, "d1")
    assert deferred.state is InboxState.DEFERRED
    assert deferred.not_before is not None
    assert before + timedelta(minutes=29) < deferred.not_before < datetime.now(UTC) + timedelta(minutes=31)
    later = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=30, second=0, microsecond=0)
    for offset, error in (("2 hours", True), ("+02:00", False)):
        until = {"until": later.strftime("%Y-%m-%dT%H:%M"), "time zone offset": offset}
        _submit(page, second.id, "Defer", until, "Defer")
        expect(page.locator(".flash")).to_have_class("flash error" if error else "flash")
    assert site.item(workspace, "d2").not_before == later - timedelta(hours=2)


def test_the_screenshot_shows_grouped_items(page: Page, site: Site, tmp_path: Path) -> None:
    """``scripts/screenshot_inbox.py``'s picture: a few items in groups, readable (a PNG of a real page)."""
    path = screenshot_inbox(page, site, tmp_path / "inbox.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000
