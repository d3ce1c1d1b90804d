"""The web inbox's defences, over plain HTTP: CSRF tokens and origins, sessions that end with their key,
one workspace's items only, strict headers and cookies, the session secret shared by replicas, HTML errors."""

from __future__ import annotations

import importlib
import logging
import re

import pytest
from fastapi.testclient import TestClient

from escalade.inbox import InboxState
from escalade.service.web import SESSION_KEY_ENV
from escalade.service.web._session import SESSION_COOKIE, sign
from tests.service.conftest import ADMIN_KEY, MakeClient, store_of
from tests.service.web.site import Site


def _site(client: TestClient) -> Site:
    return Site(url=str(client.base_url), store=store_of(client))


def _sign_in(client: TestClient, key: str, name: str = "ana") -> str:
    """Sign ``client`` in; the session's CSRF token."""
    form = client.get("/inbox/login")
    token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post("/inbox/login", data={"key": key, "name": name, "token": token[1]}, follow_redirects=False)
    assert done.status_code == 303, done.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/inbox").text)
    assert csrf is not None
    return csrf[1]


def _answer(client: TestClient, item_id: str, **form: str) -> tuple[int, str]:
    done = client.post(f"/inbox/items/{item_id}/answer", data={"action": "approve", **form})
    return done.status_code, done.text


@pytest.mark.parametrize(
    ("csrf", "headers"),
    [
        (None, {}),
        ("wrong", {}),
        ("", {}),
        ("right", {"Origin": "http://evil.example"}),
        ("right", {"Origin": "null"}),
        ("right", {"Referer": "http://evil.example/inbox"}),
    ],
    ids=["missing", "wrong", "empty", "other-origin", "null-origin", "other-referer"],
)
def test_a_form_without_the_right_token_or_from_elsewhere_is_403(
    client: TestClient, csrf: str | None, headers: dict[str, str]
) -> None:
    """Answer, approve-all and sign-out refuse it with a 403 page, and nothing changes."""
    site = _site(client)
    item = site.escalate("acme", "d1")
    token = _sign_in(client, site.key("acme"))
    form = {} if csrf is None else {"csrf": token if csrf == "right" else csrf}
    for path, data in (
        (f"/inbox/items/{item.id}/answer", {"action": "approve"}),
        ("/inbox/batch", {"items": item.id}),
        ("/inbox/logout", {}),
    ):
        refused = client.post(path, data={**data, **form}, headers=headers, follow_redirects=False)
        assert refused.status_code == 403, path
        assert "did not come from your inbox page" in refused.text
        assert refused.headers["content-type"].startswith("text/html")
    assert site.item("acme", "d1").state is InboxState.PENDING
    assert client.get("/inbox", follow_redirects=False).status_code == 200  # still signed in


def test_the_right_token_from_this_server_is_accepted(client: TestClient) -> None:
    site = _site(client)
    item = site.escalate("acme", "d1")
    token = _sign_in(client, site.key("acme"))
    done = client.post(
        f"/inbox/items/{item.id}/answer",
        data={"csrf": token, "action": "approve"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/inbox"
    assert site.item("acme", "d1").state is InboxState.ANSWERED


@pytest.mark.parametrize("case", ["no-cookie", "other-origin", "forged"])
def test_sign_in_needs_its_own_form(client: TestClient, case: str) -> None:
    """Login CSRF: a sign-in posted without this browser's signed form token, or from another site, is a 403."""
    key = store_of(client).api_keys.create("acme").key
    form = client.get("/inbox/login")
    token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert token is not None
    data = {"key": key, "name": "ana", "token": token[1]}
    headers = {}
    if case == "no-cookie":
        client.cookies.clear()
    elif case == "other-origin":
        headers = {"Origin": "http://evil.example"}
    else:
        client.cookies.set("escalade_login", "x.y", path="/inbox")
        data["token"] = "x.y"
    refused = client.post("/inbox/login", data=data, headers=headers, follow_redirects=False)
    assert refused.status_code == 403
    assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")


@pytest.mark.parametrize("which", ["unknown", "revoked", "admin", "malformed", "empty"])
def test_a_key_that_is_not_valid_gets_the_same_401(client: TestClient, which: str) -> None:
    """Unknown, revoked, the administrator's, malformed or empty: the same words, no hint which part was wrong."""
    keys = store_of(client).api_keys
    revoked = keys.create("acme")
    keys.revoke(revoked.id)
    key = {
        "unknown": "esk_0123456789ab_" + "a" * 43,
        "revoked": revoked.key,
        "admin": ADMIN_KEY,
        "malformed": "esk_nope",
        "empty": "",
    }[which]
    token = re.search(r'name="token" value="([^"]+)"', client.get("/inbox/login").text)
    assert token is not None
    refused = client.post("/inbox/login", data={"key": key, "name": "ana", "token": token[1]})
    assert refused.status_code == 401
    assert "key not valid" in refused.text
    assert "revoked" not in refused.text
    assert client.get("/inbox", follow_redirects=False).headers["location"] == "/inbox/login"


@pytest.mark.parametrize("name", ["", "   ", "a\x07b", "x" * 100 + "y", "role:sre", "ana\u202e", "an\u200ba"])
def test_a_workspace_key_needs_a_good_name(client: TestClient, name: str) -> None:
    key = store_of(client).api_keys.create("acme").key
    token = re.search(r'name="token" value="([^"]+)"', client.get("/inbox/login").text)
    assert token is not None
    refused = client.post("/inbox/login", data={"key": key, "name": name, "token": token[1]})
    assert refused.status_code == 400
    assert "give your name" in refused.text


@pytest.mark.parametrize("how", ["admin-api", "store"])
def test_a_revoked_key_ends_its_session(make_client: MakeClient, how: str) -> None:
    """Revoked over the admin API (this replica forgets it at once) or in the database (within --cache-ttl)."""
    client = make_client(cache_ttl_s=0 if how == "store" else 1.0)
    site = _site(client)
    item = site.escalate("acme", "d1")
    made = store_of(client).api_keys.create("acme")
    token = _sign_in(client, made.key)
    if how == "admin-api":
        gone = client.delete(f"/v1/admin/keys/{made.id}", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert gone.status_code == 200
    else:
        assert store_of(client).api_keys.revoke(made.id)
    assert client.get("/inbox", follow_redirects=False).headers["location"] == "/inbox/login"
    status, text = _answer(client, item.id, csrf=token)
    assert status == 401
    assert "sign in again" in text
    assert site.item("acme", "d1").state is InboxState.PENDING


def test_another_workspaces_item_is_a_404(client: TestClient) -> None:
    site = _site(client)
    theirs = site.escalate("beta", "d1")
    token = _sign_in(client, site.key("acme"))
    page = client.get(f"/inbox/items/{theirs.id}")
    assert page.status_code == 404
    assert "no such item in your workspace" in page.text
    assert client.get("/inbox/items/d1").status_code == 404  # nor by its decision's id
    status, _ = _answer(client, theirs.id, csrf=token)
    assert status == 404
    batch = client.post("/inbox/batch", data={"csrf": token, "items": theirs.id})
    assert "refused" in batch.text
    assert site.item("beta", "d1").state is InboxState.PENDING


def test_someone_elses_item_is_refused_with_the_reason(client: TestClient) -> None:
    site = _site(client)
    item = site.escalate("acme", "d1", assignees=["bo"])
    token = _sign_in(client, site.key("acme"), "ana")
    assert "bo" in client.get(f"/inbox/items/{item.id}").text  # shown, without its forms
    status, text = _answer(client, item.id, csrf=token)
    assert status == 200  # back on the inbox page, the reason shown
    assert "&#39;ana&#39; may not answer it" in text
    assert site.item("acme", "d1").state is InboxState.PENDING


def test_pages_and_cookies_are_locked_down(make_client: MakeClient) -> None:
    """No caching, no script, no framing, no sniffing; cookies HttpOnly, SameSite=Strict, on /inbox, Secure on https."""
    client = make_client()
    key = store_of(client).api_keys.create("acme").key
    _sign_in(client, key)
    for response in (client.get("/inbox"), client.get("/inbox/login"), client.get("/inbox/items/nope")):
        assert response.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "form-action 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
    secure = TestClient(client.app, base_url="https://testserver")
    form = secure.get("/inbox/login")
    cookie = form.headers["set-cookie"].lower()
    assert all(part in cookie for part in ("httponly", "samesite=strict", "path=/inbox", "secure"))
    plain = client.get("/inbox/login").headers["set-cookie"].lower()
    assert "secure" not in plain


def test_a_tampered_or_expired_session_is_signed_out(client: TestClient) -> None:
    made = store_of(client).api_keys.create("acme")
    _sign_in(client, made.key)
    good = client.cookies[SESSION_COOKIE]
    body, mac = good.split(".")
    flip = {"A": "B"}  # the MAC's last character carries padding bits too: any other spelling is refused
    state = client.app.state.service  # type: ignore[attr-defined]
    for bad in (
        body[:-1] + flip.get(body[-1], "A") + "." + mac,
        body + "." + mac[:-1] + flip.get(mac[-1], "A"),
        "garbage",
        body,
        sign(state, "session", {"key": made.id, "person": "ana", "csrf": "c"}, ttl_s=-1),  # expired
        sign(state, "flash", {"key": made.id, "person": "ana", "csrf": "c"}, ttl_s=60),  # for another purpose
    ):
        page = client.get("/inbox", headers={"Cookie": f"{SESSION_COOKIE}={bad}"}, follow_redirects=False)
        assert page.status_code == 303, bad
    assert client.get("/inbox", headers={"Cookie": f"{SESSION_COOKIE}={good}"}).status_code == 200


@pytest.mark.parametrize("secret", [None, "a-session-key-of-forty-characters-000000"])
def test_a_session_works_on_every_replica(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    """Two processes on one database, given the same administrator's key (or session key), share sessions."""
    if secret is not None:
        monkeypatch.setenv(SESSION_KEY_ENV, secret)
    first, second = make_client(), make_client()
    _sign_in(first, store_of(first).api_keys.create("acme").key)
    second.cookies.set(SESSION_COOKIE, first.cookies[SESSION_COOKIE], path="/inbox")
    page = second.get("/inbox", follow_redirects=False)
    assert page.status_code == 200
    assert "ana · workspace acme" in page.text


def test_without_any_key_sessions_stay_in_their_process(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("ESCALADE_ADMIN_KEY")
    first, second = make_client(), make_client()
    with caplog.at_level(logging.WARNING, logger="escalade.service.web._session"):
        _sign_in(first, store_of(first).api_keys.create("acme").key)
    assert "do not survive a restart or reach another replica" in caplog.text
    second.cookies.set(SESSION_COOKIE, first.cookies[SESSION_COOKIE], path="/inbox")
    assert second.get("/inbox", follow_redirects=False).status_code == 303


def test_a_short_session_key_is_a_server_error_page(make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SESSION_KEY_ENV, "too-short")
    refused = make_client().get("/inbox/login")
    assert refused.status_code == 500
    assert refused.headers["content-type"].startswith("text/html")
    assert "too-short" not in refused.text


def test_errors_are_pages_on_the_inbox_and_json_on_the_api(client: TestClient) -> None:
    """A form field over its bound (a text, an id, a list of ids) is a 400 page; the API's errors keep their JSON."""
    site = _site(client)
    item = site.escalate("acme", "d1")
    token = _sign_in(client, site.key("acme"))
    status, text = _answer(client, item.id, csrf=token, action="reject", feedback="x" * 4001)
    assert status == 400
    assert "feedback" in text
    assert "<html" in text
    assert site.item("acme", "d1").state is InboxState.PENDING
    for items, said in ((["x" * 65], "at most 64 characters"), (["x"] * 501, "at most 500 items")):
        refused = client.post("/inbox/batch", data={"csrf": token, "items": items})
        assert refused.status_code == 400
        assert said in refused.text
    api = client.post("/v1/decisions", json={}, headers={"Authorization": f"Bearer {site.key('acme')}"})
    assert api.status_code == 400
    assert "error" in api.json()


def test_an_items_text_is_escaped(client: TestClient) -> None:
    site = _site(client)
    site.escalate("acme", "d1", "Deploy <script>alert(1)</script> to production")
    _sign_in(client, site.key("acme"), name="<b>ana</b>")
    page = client.get("/inbox").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>ana</b>" not in page


def test_approving_all_with_everything_kept_approves_nothing(client: TestClient) -> None:
    site = _site(client)
    item = site.escalate("acme", "d1")
    token = _sign_in(client, site.key("acme"))
    page = client.post("/inbox/batch", data={"csrf": token, "items": item.id, "keep": item.id})
    assert "nothing approved" in page.text
    assert site.item("acme", "d1").state is InboxState.PENDING


def test_not_signed_in(client: TestClient) -> None:
    """Pages send you to the sign-in form; a form post is a 401 page."""
    for path in ("/inbox", "/inbox/items/d1"):
        assert client.get(path, follow_redirects=False).headers["location"] == "/inbox/login"
    refused = client.post("/inbox/items/d1/answer", data={"action": "approve", "csrf": "x"})
    assert refused.status_code == 401


def _login_form(client: TestClient) -> str:
    token = re.search(r'name="token" value="([^"]+)"', client.get("/inbox/login").text)
    assert token is not None
    return token[1]


def test_a_workspace_key_cannot_sign_in_as_a_token_holder(client: TestClient) -> None:
    """ana has a personal token: a workspace key typing her name is refused, and no session is made."""
    store = store_of(client)
    store.api_keys.create("acme", person="ana", roles=("sre",))
    shared = store.api_keys.create("acme").key
    refused = client.post("/inbox/login", data={"key": shared, "name": "ana", "token": _login_form(client)})
    assert refused.status_code == 403
    assert "has a personal token" in refused.text
    assert client.get("/inbox", follow_redirects=False).headers["location"] == "/inbox/login"


def test_odd_sign_in_input_is_refused_not_a_server_error(client: TestClient) -> None:
    """A login token with characters outside ASCII is a refusal (403), never a 500."""
    refused = client.post("/inbox/login", data={"key": "k", "name": "ana", "token": "é"})
    assert refused.status_code == 403


def test_deep_parameters_are_an_error_on_the_page(client: TestClient) -> None:
    """Parameters nested thousands deep are refused on the page (no 500) and change nothing."""
    site = _site(client)
    item = site.escalate("acme", "d1")
    csrf = _sign_in(client, store_of(client).api_keys.create("acme").key)
    deep = "[" * 3000 + "]" * 3000
    status, text = _answer(client, item.id, csrf=csrf, action="modify", parameters='{"a": ' + deep + "}")
    assert status == 200
    assert "nest too deep" in text
    status, text = _answer(client, item.id, csrf=csrf, action="modify", parameters='{"a": ' + "[" * 20 + "]" * 20 + "}")
    assert "nests deeper than 8" in text
    assert site.item("acme", "d1").state is InboxState.PENDING


def test_the_page_shows_the_most_urgent_200(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.import_module("escalade.service.web.router"), "MAX_SHOWN", 2)
    site = _site(client)
    for i in range(3):
        site.escalate("acme", f"d{i}")
    _sign_in(client, store_of(client).api_keys.create("acme").key)
    page = client.get("/inbox").text
    assert "3 decisions wait for you" in page
    assert "The 2 most urgent are shown" in page
