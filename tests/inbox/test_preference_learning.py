"""Preference learning end to end: the real engine, inbox and preference model, and simulated people with
hidden preferences answering what they are asked."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from escalade.autonomy import DecisionContext, EscalationEngine, MemoryAutonomyStore, RateControl, parse_decision
from escalade.inbox import Inbox, MemoryInboxStore, PreferenceModel, PreferencePolicy
from tests.inbox.items import NOW

STAGING = "Deploy the search service to staging"
SCHEMA = "Drop the legacy column from the orders schema in staging"
PRODUCTION = "Deploy the search service to production"
#: (what, who is asked, their hidden chance of approving it), in turn. Ana and bo disagree on staging
#: deployments, so the workspace's history alone keeps the engine unsure of them; a rule forces production.
STREAM = ((STAGING, "ana", 0.99), (STAGING, "bo", 0.3), (SCHEMA, "ana", 0.1), (PRODUCTION, "ana", 1.0))


def test_simulated_people_are_asked_until_their_preference_holds_the_bound() -> None:
    """Auto-approval appears only after enough consistent answers, only for the kind and person that earned
    it, never for the forced production deployments, and its wrong share on fresh draws stays within alpha."""
    rng = random.Random(11)
    now = [NOW]
    store = MemoryInboxStore()
    engine = EscalationEngine(
        MemoryAutonomyStore(),
        profile="supervised",
        rate=RateControl(enabled=False),
        preferences=PreferenceModel(store),
        rng=random.Random(3),
    )
    inbox = Inbox(store, engine, clock=lambda: now[0])
    asked: Counter[tuple[str, str]] = Counter()
    auto: Counter[tuple[str, str]] = Counter()
    asked_before_first: int | None = None
    wrong = 0
    for i in range(1200):
        now[0] += timedelta(minutes=20)
        description, person, p = STREAM[i % len(STREAM)]
        decision = parse_decision({"id": f"d{i}", "description": description})
        result = engine.evaluate(decision, DecisionContext(workspace="w", now=now[0]), person=person)
        approves = rng.random() < p  # the person's hidden answer, drawn afresh whether asked or not
        if result.auto_approved_by is not None:
            assert result.auto_approved_by == person
            auto[description, person] += 1
            wrong += not approves
            asked_before_first = asked[description, person] if asked_before_first is None else asked_before_first
        elif result.should_escalate:
            inbox.escalated(result, decision, workspace="w", assignees=[person])
            now[0] += timedelta(minutes=10)  # a considered answer, not a quick one
            inbox.respond(f"d{i}", {"action": "approve" if approves else "reject", "by": person}, workspace="w")
            asked[description, person] += 1
    assert asked_before_first is not None
    assert asked_before_first >= PreferencePolicy().min_answers()
    assert set(auto) == {(STAGING, "ana")}
    assert asked[PRODUCTION, "ana"] == 300  # every one asked
    assert auto[STAGING, "ana"] >= 100
    assert wrong <= 0.05 * auto[STAGING, "ana"]
