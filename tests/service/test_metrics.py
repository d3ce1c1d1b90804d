"""``/metrics``: requests per route template, spend and budget left per workspace, and no secret in any label."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from escalade.budget import WorkspaceBudget
from escalade.service._metrics import ServiceMetrics, reason_label
from tests.service.conftest import ADMIN_KEY, store_of, workspace_key


def _samples(client: TestClient, admin_headers: dict[str, str]) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Each sample family's labels and values, scraped once."""
    scraped = client.get("/metrics", headers=admin_headers)
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(scraped.text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


def test_requests_are_counted_per_route_template(client: TestClient, admin_headers: dict[str, str]) -> None:
    """The route's template is the label, never the path the client chose; unknown paths are ``unmatched``."""
    headers = workspace_key(client, "acme")
    client.post("/v1/decisions", json={"description": "Fix a typo"}, headers=headers)
    client.post("/v1/decisions", json={}, headers=headers)
    client.delete("/v1/admin/keys/0123456789ab", headers=admin_headers)
    client.get("/v1/some/path-a-client-chose")
    client.get("/inbox/items/a-path-a-client-chose", follow_redirects=False)  # the web inbox's pages too
    client.get("/inbox/login")
    client.get("/inbox/nothing-here")
    samples = _samples(client, admin_headers)
    counted = {(s["route"], s["method"], s["status"]): v for s, v in samples["escalade_http_requests_total"]}
    assert counted[("/v1/decisions", "POST", "200")] == 1
    assert counted[("/v1/decisions", "POST", "400")] == 1
    assert counted[("/v1/admin/keys/{key_id}", "DELETE", "404")] == 1
    assert counted[("unmatched", "GET", "404")] == 2
    assert counted[("/inbox/items/{item_id}", "GET", "303")] == 1
    assert counted[("/inbox/login", "GET", "200")] == 1
    latency = {s["route"] for s, _ in samples["escalade_http_request_seconds_count"]}
    assert "/v1/decisions" in latency


def test_spend_and_budget_left_per_workspace(client: TestClient, admin_headers: dict[str, str]) -> None:
    """The month line of each workspace's ledger, read at the scrape."""
    store = store_of(client)
    budget = WorkspaceBudget(workspace="acme", monthly_limit_usd=10.0)
    store.put_workspace_budget(budget)
    store.api_keys.create_workspace("free")
    ledger = store.ledger()
    line = budget.month_line(datetime.now(UTC))
    ledger.open(line, 10.0)
    ledger.settle(ledger.reserve([line], 2.0, ttl_s=60), 1.25)
    samples = _samples(client, admin_headers)
    spend = {s["workspace"]: v for s, v in samples["escalade_workspace_spend_usd"]}
    left = {s["workspace"]: v for s, v in samples["escalade_workspace_budget_left_usd"]}
    assert spend == {"acme": 1.25, "free": 0.0}
    assert left == {"acme": 8.75}  # no cap, nothing left to report


def test_decisions_escalations_and_errors_have_bounded_labels() -> None:
    """Reasons become their first word; nothing a client wrote reaches a label."""
    metrics = ServiceMetrics()
    metrics.observe_result("cheap", "premium", ["low_quality: the answer said 'my password is hunter2'"], ["timeout"])
    text = metrics.exposition().decode()
    assert 'escalade_escalations_total{reason="low_quality"} 1.0' in text
    assert 'escalade_tier_decisions_total{end="premium",start="cheap"} 1.0' in text
    assert "hunter2" not in text
    assert reason_label("  ") == "other"
    assert reason_label("Low quality answer") == "low_quality_answer"


def test_no_prompt_or_key_in_any_label(client: TestClient, admin_headers: dict[str, str]) -> None:
    headers = workspace_key(client, "acme")
    key = headers["Authorization"].removeprefix("Bearer ")
    secret = "SECRET-PROMPT-hunter2"
    client.post("/v1/decisions", json={"id": secret, "description": secret}, headers=headers)
    client.post("/v1/outcomes", json={"id": secret, "note": secret, "success": True}, headers=headers)
    client.get(f"/v1/{secret}", headers=headers)
    text = client.get("/metrics", headers=admin_headers).text
    assert "hunter2" not in text
    assert key not in text
    assert ADMIN_KEY not in text


def test_a_scrape_survives_a_dead_database(client: TestClient, admin_headers: dict[str, str]) -> None:
    """Spend cannot be read: the families are empty, the scrape still answers (health says why)."""
    state = client.app.state.service  # type: ignore[attr-defined]
    original = state.store
    state.store = _Broken(original)
    try:
        scraped = client.get("/metrics", headers=admin_headers)
    finally:
        state.store = original
    assert scraped.status_code == 200
    assert "escalade_http_requests_total" in scraped.text
    assert "escalade_workspace_spend_usd{" not in scraped.text


class _Broken:
    """A store whose spend cannot be read, but whose keys still verify."""

    def __init__(self, store: object) -> None:
        self.api_keys = store.api_keys  # type: ignore[attr-defined]

    def ledger(self) -> None:
        raise RuntimeError("database down")
