"""The hash-chained audit trail: building, verifying and tampering with it, in memory.

Every kind of tampering the module docstring promises to catch (an edited body, a removed entry,
removed newest entries, reordered entries, a replaced hash, a lost head, a chain rebuilt without the
HMAC key) is applied to an intact chain, and the report must name the first bad entry. Trails that
change seal (SHA-256 first, keyed later) verify; a missing or wrong key is reported as such.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from escalade.autonomy import (
    AUDIT_KEY_ENV,
    GENESIS,
    AuditDraft,
    AuditEntry,
    AuditHead,
    ChainReport,
    EscalationEngine,
    MemoryAutonomyStore,
    Outcome,
    audit_key,
    canonical_json,
    chain_hash,
    check_append,
    key_id,
    make_entry,
    verify_chain,
)
from escalade.exceptions import AuditKeyError, DecisionError
from tests.autonomy.factories import count_parses, intact, verify_stored_chain

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = b"the audit key"

Chain = tuple[list[AuditEntry], AuditHead | None]
Tamper = Callable[[list[AuditEntry], AuditHead], Chain]


@pytest.fixture(autouse=True)
def no_audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests choose their key; ``ESCALADE_AUDIT_KEY`` from the environment must not leak in."""
    monkeypatch.delenv(AUDIT_KEY_ENV, raising=False)


def build_chain(
    count: int = 5, *, key: bytes | None = None, keyed_from: int = 1, sealed: bool = True
) -> tuple[list[AuditEntry], AuditHead]:
    """``count`` linked decision entries (``d1``, ``d2``, ...) and their head.

    Entries from ``keyed_from`` on are sealed with ``key``, those before with SHA-256; ``sealed=False``
    writes them as entries did before they named their seal.
    """
    entries: list[AuditEntry] = []
    previous = GENESIS
    for seq in range(1, count + 1):
        entry = make_entry(
            seq=seq,
            previous=previous,
            at=AT + timedelta(minutes=seq),
            kind="decision",
            workspace="w",
            decision_id=f"d{seq}",
            payload={"escalate": seq % 2 == 0, "confidence": 0.25 * (seq % 4)},
            key=key if seq >= keyed_from else None,
        )
        if not sealed:
            content = {k: v for k, v in entry.content().items() if k not in ("seal", "key_id")}
            body = canonical_json(content)
            entry = AuditEntry(seq, body, chain_hash(body, key if seq >= keyed_from else None))
        entries.append(entry)
        previous = entry.hash
    return entries, AuditHead(entries[-1].seq, entries[-1].hash)


def rebuild(entries: list[AuditEntry], start: int, key: bytes | None) -> list[AuditEntry]:
    """The entries from position ``start`` re-sealed with ``key`` and re-linked, as an attacker would."""
    out = list(entries[:start])
    previous = out[-1].hash if out else GENESIS
    for entry in entries[start:]:
        content = {k: v for k, v in entry.content().items() if k != "key_id"}
        content.update(
            prev=previous, seal="hmac-sha256" if key else "sha256", **({"key_id": key_id(key)} if key else {})
        )
        body = canonical_json(content)
        out.append(AuditEntry(entry.seq, body, chain_hash(body, key)))
        previous = out[-1].hash
    return out


def with_body(entry: AuditEntry, body: str) -> AuditEntry:
    """The entry with another body and its old hash."""
    return replace(entry, body=body)


def flip_escalate(entry: AuditEntry) -> AuditEntry:
    """The entry with its payload's ``escalate`` flipped (hash left as it was)."""
    content = entry.content()
    content["payload"]["escalate"] = not content["payload"]["escalate"]
    return with_body(entry, canonical_json(content))


def edit_body(entries: list[AuditEntry], head: AuditHead) -> Chain:
    return [flip_escalate(e) if e.seq == 3 else e for e in entries], head


def edit_and_rehash_one(entries: list[AuditEntry], head: AuditHead) -> Chain:
    edited = flip_escalate(entries[2])
    return [*entries[:2], replace(edited, hash=chain_hash(edited.body, None)), *entries[3:]], head


def delete_middle(entries: list[AuditEntry], head: AuditHead) -> Chain:
    return [e for e in entries if e.seq != 3], head


def delete_last_two(entries: list[AuditEntry], head: AuditHead) -> Chain:
    return entries[:3], head


def reorder(entries: list[AuditEntry], head: AuditHead) -> Chain:
    return [entries[0], entries[2], entries[1], *entries[3:]], head


def swap_contents(entries: list[AuditEntry], head: AuditHead) -> Chain:
    second, fourth = entries[1], entries[3]
    swapped = {2: AuditEntry(2, fourth.body, fourth.hash), 4: AuditEntry(4, second.body, second.hash)}
    return [swapped.get(e.seq, e) for e in entries], head


def replace_hash(entries: list[AuditEntry], head: AuditHead) -> Chain:
    forged = hashlib.sha256(b"something else").hexdigest()
    return [replace(e, hash=forged) if e.seq == 2 else e for e in entries], head


def body_not_json(entries: list[AuditEntry], head: AuditHead) -> Chain:
    return [with_body(e, "not json {") if e.seq == 2 else e for e in entries], head


def body_not_object(entries: list[AuditEntry], head: AuditHead) -> Chain:
    return [with_body(e, "[1, 2]") if e.seq == 2 else e for e in entries], head


def drop_head(entries: list[AuditEntry], head: AuditHead) -> Chain:
    return entries, None


def edit_head(entries: list[AuditEntry], head: AuditHead) -> Chain:
    return entries, AuditHead(head.seq, GENESIS)


def truncate_with_head(entries: list[AuditEntry], head: AuditHead) -> Chain:
    """The newest entries removed and the head moved back: an undetectable rewrite without a key."""
    return entries[:3], AuditHead(3, entries[2].hash)


def test_intact_chain_verifies() -> None:
    """An untouched chain is intact, counts its entries and is a SHA-256 chain without a key."""
    entries, head = build_chain(5)
    report = verify_chain(entries, head, None)
    assert report == ChainReport(ok=True, entries=5, keyed=False, cause=None, keyed_from=None, anchor=f"5:{head.hash}")
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].content()["prev"] == GENESIS
    assert all(later.content()["prev"] == earlier.hash for earlier, later in itertools.pairwise(entries))


@pytest.mark.parametrize("head", [None, AuditHead(0, GENESIS)])
def test_empty_chain_verifies(head: AuditHead | None) -> None:
    """No entries with no head, or the genesis head of a fresh store, is an intact empty trail."""
    assert verify_chain([], head, None) == ChainReport(ok=True, entries=0)


@pytest.mark.parametrize(
    ("key", "seal"),
    [(None, {"seal": "sha256"}), (KEY, {"seal": "hmac-sha256", "key_id": key_id(KEY)})],
    ids=["sha256", "hmac"],
)
def test_entry_body_holds_everything_hashed(key: bytes | None, seal: dict[str, str]) -> None:
    """The body is canonical JSON of seq, previous hash, time, kind, workspace, decision id, payload and seal."""
    entry = make_entry(
        seq=7, previous="ab" * 32, at=AT, kind="outcome", workspace="w", decision_id=None, payload={"x": 1}, key=key
    )
    assert entry.content() == {
        "seq": 7,
        "prev": "ab" * 32,
        "at": AT.isoformat(),
        "kind": "outcome",
        "workspace": "w",
        "decision_id": None,
        "payload": {"x": 1},
        **seal,
    }
    assert entry.kind == "outcome"
    assert entry.body == canonical_json(entry.content())
    assert entry.hash == chain_hash(entry.body, key)


def test_key_id_names_the_key_without_revealing_it() -> None:
    """A key id is short, the same for the same key, different for another, and holds nothing of the key."""
    assert key_id(KEY) == key_id(bytes(KEY))
    assert key_id(KEY) != key_id(b"another key")
    assert len(key_id(KEY)) == 16
    assert KEY.hex() not in key_id(KEY)
    assert key_id(KEY) not in (hashlib.sha256(KEY).hexdigest()[:16], KEY.hex()[:16])


@pytest.mark.parametrize(
    ("tamper", "first_bad", "decision", "problem"),
    [
        pytest.param(edit_body, 3, "d3", "does not match its content: edited", id="edited-body"),
        pytest.param(edit_and_rehash_one, 4, "d4", "does not follow the entry before it", id="edited-and-rehashed"),
        pytest.param(delete_middle, 4, "d4", "expected entry 3 here: entries are missing", id="deleted-middle"),
        pytest.param(delete_last_two, 4, None, "ends at entry 3 but 5 were written", id="deleted-newest"),
        pytest.param(reorder, 3, "d3", "expected entry 2 here", id="reordered"),
        pytest.param(swap_contents, 2, "d4", "its content says it is entry 4: moved", id="swapped-contents"),
        pytest.param(replace_hash, 2, "d2", "does not match its content: edited", id="hash-replaced"),
        pytest.param(body_not_json, 2, None, "not a JSON object (edited)", id="body-not-json"),
        pytest.param(body_not_object, 2, None, "not a JSON object (edited)", id="body-not-object"),
        pytest.param(drop_head, 1, None, "head is missing", id="head-missing"),
        pytest.param(edit_head, 5, None, "recorded head does not match the last entry", id="head-edited"),
    ],
)
def test_tampering_is_detected_at_the_first_bad_entry(
    tamper: Tamper, first_bad: int, decision: str | None, problem: str
) -> None:
    """Each kind of tampering is reported at the first entry it broke, with what is wrong."""
    entries, head = build_chain(5)
    tampered, tampered_head = tamper(entries, head)
    report = verify_chain(tampered, tampered_head, None)
    assert not report.ok
    assert report.first_bad_seq == first_bad
    assert report.first_bad_decision == decision
    assert problem in report.problem


def test_edit_of_a_keyed_entry_is_an_edit() -> None:
    """An edited keyed entry checked with the key is reported as edited, at that entry."""
    entries, head = build_chain(3, key=KEY)
    tampered, _ = edit_body(entries, head)
    keyed = verify_chain(tampered, head, KEY)
    assert (keyed.first_bad_seq, keyed.keyed, keyed.cause) == (3, True, "tampered")
    assert "edited" in keyed.problem
    assert AUDIT_KEY_ENV not in keyed.problem


def test_truncation_with_a_moved_head_needs_a_reference_or_an_anchor() -> None:
    """Cutting the newest entries and moving the head back is consistent on its own; references and anchors catch it."""
    entries, head = build_chain(5)
    tampered, tampered_head = truncate_with_head(entries, head)
    assert verify_chain(tampered, tampered_head, None) == intact(3, tampered_head)
    referenced = verify_chain(tampered, tampered_head, None, referenced=5)
    assert (referenced.ok, referenced.first_bad_seq) == (False, 4)
    assert "refers to entry 5 but the trail ends at 3" in referenced.problem
    anchored = verify_chain(tampered, tampered_head, None, anchor=head)
    assert (anchored.ok, anchored.first_bad_seq) == (False, 4)
    assert "anchor's entry 5 is gone" in anchored.problem


def test_anchor_must_match_its_entry() -> None:
    """An anchor whose entry now has another hash names that entry; a matching anchor passes."""
    entries, head = build_chain(5)
    assert verify_chain(entries, head, None, anchor=AuditHead(3, entries[2].hash)).ok
    report = verify_chain(entries, head, None, anchor=AuditHead(3, "f" * 64))
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "differs from the anchor" in report.problem


@pytest.mark.parametrize(
    ("key", "cause", "problem"),
    [
        pytest.param(None, "missing_key", f"key id {key_id(KEY)}): set {AUDIT_KEY_ENV}", id="no-key"),
        pytest.param(
            b"a wrong key", "wrong_key", f"{AUDIT_KEY_ENV} is another key (id {key_id(b'a wrong key')})", id="wrong-key"
        ),
        pytest.param(KEY, None, "", id="right-key"),
    ],
)
def test_keyed_chain_verifies_only_with_its_key(key: bytes | None, cause: str | None, problem: str) -> None:
    """An HMAC chain passes with its key; without it or with another the report says so, not "edited"."""
    entries, head = build_chain(4, key=KEY)
    report = verify_chain(entries, head, key)
    assert report.ok is (cause is None)
    assert report.cause == cause
    assert problem in report.problem
    if cause is not None:
        assert report.first_bad_seq == 1
        assert "edited" not in report.problem
        assert report.describe().startswith("audit trail cannot be verified at entry 1 (decision 'd1'): ")
    else:
        assert (report.keyed, report.keyed_from, report.key_id) == (True, 1, key_id(KEY))


@pytest.mark.parametrize("sealed", [True, False], ids=["sealed", "before-seals"])
@pytest.mark.parametrize(
    ("key", "cause", "first_bad"),
    [(KEY, None, None), (None, "missing_key", 4), (b"a wrong key", "wrong_key", 4)],
    ids=["right-key", "no-key", "wrong-key"],
)
def test_trail_keyed_part_way_verifies(
    key: bytes | None, cause: str | None, first_bad: int | None, sealed: bool
) -> None:
    """SHA-256 entries followed by keyed ones (the key set on an existing trail) verify with the key.

    Without the key, or with another, the first keyed entry is named, and why. Entries from before
    seals were named verify too (SHA-256 tried first, then the key), but cannot tell a wrong key
    from an edit.
    """
    entries, head = build_chain(6, key=KEY, keyed_from=4, sealed=sealed)
    report = verify_chain(entries, head, key)
    assert report.ok is (cause is None)
    assert report.first_bad_seq == first_bad
    if cause is None:
        assert (report.keyed_from, report.key_id) == (4, key_id(KEY))
        assert "entries 1-3 sealed with SHA-256 only" in report.describe()
        assert f"4-6 with HMAC-SHA256 (key id {key_id(KEY)})" in report.describe()
    elif sealed:
        assert report.cause == cause
    else:
        assert report.cause == "tampered"
        assert ("set ESCALADE_AUDIT_KEY" if key is None else "or written with another audit key") in report.problem


def rebuild_unsealed(entries: list[AuditEntry], start: int) -> list[AuditEntry]:
    """Entries from ``start`` (written before seals were named) re-linked with plain SHA-256."""
    out, previous = list(entries[:start]), entries[start - 1].hash
    for entry in entries[start:]:
        body = canonical_json({**entry.content(), "prev": previous})
        out.append(AuditEntry(entry.seq, body, chain_hash(body, None)))
        previous = out[-1].hash
    return out


@pytest.mark.parametrize("sealed", [True, False], ids=["sealed", "before-seals"])
def test_unkeyed_entry_after_keyed_ones_is_tampering(sealed: bool) -> None:
    """An entry sealed with SHA-256 after keyed ones is what rewriting the newest entries without the key looks like."""
    entries, _ = build_chain(5, key=KEY, sealed=sealed)
    forged = rebuild(entries, 3, None) if sealed else rebuild_unsealed(entries, 3)
    report = verify_chain(forged, AuditHead(5, forged[-1].hash), KEY)
    assert (report.ok, report.first_bad_seq, report.cause) == (False, 4, "tampered")
    assert "sealed with SHA-256 after keyed entries (from entry 1)" in report.problem


def test_changed_key_id_is_an_edit() -> None:
    """A keyed entry whose key id was changed (after keyed entries with the right one) is edited, not a wrong key."""
    entries, head = build_chain(4, key=KEY)
    content = {**entries[2].content(), "key_id": key_id(b"other")}
    tampered = [with_body(e, canonical_json(content)) if e.seq == 3 else e for e in entries]
    report = verify_chain(tampered, head, KEY)
    assert (report.first_bad_seq, report.cause) == (3, "tampered")
    assert "names key id" in report.problem


def test_key_given_for_a_trail_never_keyed_is_reported() -> None:
    """With a key, a trail none of whose entries is keyed fails: it may have been rebuilt without the key."""
    entries, head = build_chain(3)
    report = verify_chain(entries, head, KEY)
    assert (report.ok, report.cause, report.first_bad_seq) == (False, "unkeyed", 1)
    assert "none of its 3 entries is sealed with ESCALADE_AUDIT_KEY" in report.describe()
    assert verify_chain([], None, KEY).ok  # nothing written yet: nothing to doubt


@pytest.mark.parametrize("start", [0, 2])
def test_chain_rebuilt_without_the_key_is_rejected(start: int) -> None:
    """An attacker who edits an entry and re-links the rest with plain SHA-256 is caught at the first rebuilt entry."""
    entries, _ = build_chain(5, key=KEY)
    edited = [flip_escalate(e) if e.seq == 3 else e for e in entries]
    forged = rebuild(edited, start, None)
    forged_head = AuditHead(forged[-1].seq, forged[-1].hash)
    if start == 0:
        assert verify_chain(forged, forged_head, None).ok  # a consistent plain SHA-256 chain
    report = verify_chain(forged, forged_head, KEY)
    assert not report.ok
    assert report.first_bad_seq == start + 1
    assert report.cause == ("unkeyed" if start == 0 else "tampered")


@pytest.mark.parametrize(
    ("written", "sealed", "key", "refusal"),
    [
        pytest.param(None, True, KEY, None, id="sha256-then-key"),
        pytest.param(KEY, True, KEY, None, id="same-key"),
        pytest.param(KEY, True, None, "sealed with HMAC-SHA256 (key id", id="key-then-none"),
        pytest.param(KEY, True, b"other", "is not the audit trail's key", id="key-then-other"),
        pytest.param(None, False, KEY, None, id="before-seals-sha256-then-key"),
        pytest.param(KEY, False, KEY, None, id="before-seals-same-key"),
        pytest.param(KEY, False, None, "is not sealed with SHA-256", id="before-seals-key-then-none"),
        pytest.param(KEY, False, b"other", "nor this key", id="before-seals-key-then-other"),
    ],
)
def test_appending_checks_the_trails_seal(
    written: bytes | None, sealed: bool, key: bytes | None, refusal: str | None
) -> None:
    """A keyed trail is only extended with its own key; a SHA-256 trail may go on keyed."""
    entries, _ = build_chain(2, key=written, sealed=sealed)
    if refusal is None:
        check_append(entries[-1], key)
        return
    with pytest.raises(AuditKeyError, match=re.escape(refusal)) as caught:
        check_append(entries[-1], key)
    assert "nothing was appended" in str(caught.value)
    assert AUDIT_KEY_ENV in str(caught.value)


@pytest.mark.parametrize("last", [None, AuditEntry(1, "not json", "x")], ids=["empty", "unreadable"])
def test_appending_to_an_empty_or_unreadable_trail_is_allowed(last: AuditEntry | None) -> None:
    """Nothing to fit (an empty trail), or nothing readable (verify reports the edit): any key may append."""
    check_append(last, None)
    check_append(last, KEY)


def resealed_with_other_key_id(entry: AuditEntry) -> AuditEntry:
    """The entry naming another key id, re-sealed with :data:`KEY` (as only a holder of the key could)."""
    body = canonical_json({**entry.content(), "key_id": key_id(b"other")})
    return AuditEntry(entry.seq, body, chain_hash(body, KEY))


@pytest.mark.parametrize(
    ("key", "edit"),
    [
        pytest.param(None, flip_escalate, id="sha256-body-edited"),
        pytest.param(KEY, flip_escalate, id="keyed-body-edited"),
        pytest.param(KEY, resealed_with_other_key_id, id="keyed-key-id-edited"),
    ],
)
def test_appending_after_an_edited_newest_entry_leaves_it_to_verify(
    key: bytes | None, edit: Callable[[AuditEntry], AuditEntry]
) -> None:
    """Appending judges the newest entry's seal as verify does: an edit, with the trail's key, is verify's to name."""
    entries, _ = build_chain(2, key=key)
    edited = [entries[0], edit(entries[1])]
    check_append(edited[-1], key)
    report = verify_chain(edited, AuditHead(2, edited[-1].hash), key)
    assert (report.ok, report.first_bad_seq, report.cause) == (False, 2, "tampered")


@pytest.mark.parametrize(("tamper", "passed"), [(None, 4), (edit_body, 2)], ids=["intact", "edited"])
def test_walk_hands_each_entry_on_with_its_body_parsed_once(
    monkeypatch: pytest.MonkeyPatch, tamper: Tamper | None, passed: int
) -> None:
    """``on_entry`` gets each entry that checks out, in order, with the body the walk parsed (once) to check it."""
    entries, head = build_chain(4, key=KEY)
    if tamper is not None:
        entries, _ = tamper(entries, head)
    expected = [(e.seq, json.loads(e.body)) for e in entries[:passed]]
    seen: list[tuple[int, object]] = []
    parses = count_parses(monkeypatch)
    verify_chain(entries, head, KEY, on_entry=lambda entry, body: seen.append((entry.seq, body)))
    assert seen == expected
    assert parses == [e.body for e in entries[: passed + (tamper is not None)]]


def test_chain_rebuilt_with_the_key_is_consistent() -> None:
    """Re-linking with the real key yields a valid chain: the key, not the links, is what protects it."""
    entries, _ = build_chain(5, key=KEY)
    forged = rebuild([flip_escalate(e) if e.seq == 3 else e for e in entries], 2, KEY)
    assert verify_chain(forged, AuditHead(5, forged[-1].hash), KEY).ok


def test_hmac_hash_is_hmac_sha256() -> None:
    """A keyed hash is HMAC-SHA256 of the body, unlike the plain SHA-256 one."""
    body = canonical_json({"a": 1})
    assert chain_hash(body, KEY) == hmac.new(KEY, body.encode(), hashlib.sha256).hexdigest()
    assert chain_hash(body, None) == hashlib.sha256(body.encode()).hexdigest()
    assert chain_hash(body, KEY) != chain_hash(body, None)


def test_audit_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """ESCALADE_AUDIT_KEY sets the key (as bytes); unset or empty means no key."""
    assert audit_key() is None
    monkeypatch.setenv(AUDIT_KEY_ENV, "")
    assert audit_key() is None
    monkeypatch.setenv(AUDIT_KEY_ENV, "s3cret")
    assert audit_key() == b"s3cret"


def test_canonical_json_is_independent_of_key_order() -> None:
    """Dicts built in any key order give the same compact text; non-ASCII stays as it is."""
    first = {"b": 1, "a": {"d": [1, 2.5], "c": "é"}, "n": None}
    second = {"n": None, "a": {"c": "é", "d": [1, 2.5]}, "b": 1}
    assert canonical_json(first) == canonical_json(second) == '{"a":{"c":"é","d":[1,2.5]},"b":1,"n":null}'
    assert json.loads(canonical_json(first)) == first


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), {"x": [1, float("nan")]}])
def test_canonical_json_rejects_non_finite_numbers(value: object) -> None:
    """NaN and infinities have no JSON form and are refused, even nested."""
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json(value)


def test_describe_names_the_first_bad_entry_and_decision() -> None:
    """A broken report names the entry's seq and decision id; an intact one the count and hash kind."""
    entries, head = build_chain(5)
    tampered, _ = edit_body(entries, head)
    broken = verify_chain(tampered, head, None).describe()
    assert broken.startswith("audit trail broken at entry 3 (decision 'd3'): ")
    assert "edited" in broken
    assert verify_chain(entries, head, None).describe() == "audit trail intact: 5 entries, SHA-256 chain verified"
    keyed, keyed_head = build_chain(2, key=KEY)
    assert verify_chain(keyed, keyed_head, KEY).describe() == (
        f"audit trail intact: 2 entries, HMAC-SHA256 chain verified (key id {key_id(KEY)})"
    )


def test_describe_without_a_decision_names_only_the_entry() -> None:
    """A problem found at the head has no decision id to name."""
    entries, head = build_chain(5)
    report = verify_chain(entries[:3], head, None)
    assert report.describe().startswith("audit trail broken at entry 4: ")
    assert report.to_dict()["first_bad_seq"] == 4


def draft(decision_id: str | None = None, *, kind: str = "decision", workspace: str = "w") -> AuditDraft:
    """An audit draft with a small payload."""
    return AuditDraft(at=AT, kind=kind, workspace=workspace, decision_id=decision_id, payload={"id": decision_id})


def test_memory_store_appends_a_linked_chain() -> None:
    """Appended entries get seq 1, 2, ...; the head follows; ``after`` and ``limit`` page through them."""
    store = MemoryAutonomyStore()
    assert store.audit_snapshot().head is None
    appended = [store.append_audit(draft(f"d{i}")) for i in range(1, 6)]
    assert [e.seq for e in appended] == [1, 2, 3, 4, 5]
    assert store.audit_snapshot().head == AuditHead(5, appended[-1].hash)
    assert store.audit_entries() == appended
    assert [e.seq for e in store.audit_entries(after=2, limit=2)] == [3, 4]
    assert store.audit_entries(after=5) == []
    assert verify_stored_chain(store) == intact(5, store.audit_snapshot().head)


def test_memory_store_key_makes_an_hmac_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """A store's key (given, or from the environment) makes a chain that verifies only with that key."""
    given = MemoryAutonomyStore(key=KEY)
    monkeypatch.setenv(AUDIT_KEY_ENV, KEY.decode())
    from_env = MemoryAutonomyStore()
    for store in (given, from_env):
        store.append_audit(draft("d1"))
        store.append_audit(draft("d2"))
        assert verify_stored_chain(store, KEY).ok
        assert not verify_stored_chain(store).ok
    assert given.audit_entries() == from_env.audit_entries()


def test_engine_flow_leaves_an_intact_trail_in_memory() -> None:
    """Decisions and outcomes through the engine are audited in order, each decision knowing its seq."""
    store = MemoryAutonomyStore()
    engine = EscalationEngine(store, clock=lambda: AT)
    results = [engine.evaluate({"id": f"d{i}", "description": f"Fix typo number {i} in the README"}) for i in (1, 2, 3)]
    engine.record_outcome("d2", Outcome(success=True))
    entries = store.audit_entries()
    assert [r.audit_seq for r in results] == [1, 2, 3]
    assert [(e.kind, e.content()["decision_id"]) for e in entries] == [
        ("decision", "d1"),
        ("decision", "d2"),
        ("decision", "d3"),
        ("outcome", "d2"),
    ]
    assert entries[0].content()["payload"]["escalate"] is results[0].should_escalate
    assert verify_stored_chain(store) == intact(4, store.audit_snapshot().head)


def test_memory_store_refusals_append_nothing() -> None:
    """A duplicate decision, an unknown id and a second outcome are refused without touching the trail."""
    store = MemoryAutonomyStore()
    engine = EscalationEngine(store, clock=lambda: AT)
    engine.evaluate({"id": "d1", "description": "Fix a typo in the README"})
    engine.record_outcome("d1", Outcome(success=True))
    record = store.get_decision("default", "d1")
    assert record is not None
    head = store.audit_snapshot().head
    with pytest.raises(DecisionError, match="already decided"):
        store.add_decision(record, draft("d1"))
    with pytest.raises(DecisionError, match="no decision with this id"):
        store.set_outcome("default", "nope", Outcome(success=True), AT, draft("nope", kind="outcome"))
    with pytest.raises(DecisionError, match="already has an outcome"):
        store.set_outcome("default", "d1", Outcome(success=False), AT, draft("d1", kind="outcome"))
    assert store.audit_snapshot().head == head
    assert len(store.audit_entries()) == 2
    assert store.get_decision("default", "d1") == record


def test_memory_store_concurrent_appends_never_fork() -> None:
    """Threads appending at once produce one chain with every seq exactly once."""
    store = MemoryAutonomyStore()
    start = threading.Barrier(4)

    def append(worker: int) -> None:
        start.wait()
        for i in range(50):
            store.append_audit(draft(f"t{worker}-{i}"))

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = store.audit_entries()
    assert [e.seq for e in entries] == list(range(1, 201))
    assert verify_stored_chain(store) == intact(200, store.audit_snapshot().head)
