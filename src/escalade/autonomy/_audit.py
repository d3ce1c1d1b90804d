"""The audit trail: an append-only, hash-chained record of every decision and what followed.

Each entry's body is canonical JSON (sorted keys, no whitespace) holding its position ``seq``, its
time, its kind (``decision``, ``outcome``, ``calibration``, ``calibration_removed``), the workspace,
the decision id, the payload, the previous entry's hash, the ``record`` (the fields of the table row
the entry vouches for, see :mod:`escalade.autonomy._trail`) and its **seal**, how its hash is made:

- ``"seal": "sha256"``: SHA-256 of the body;
- ``"seal": "hmac-sha256"`` with ``"key_id"``: HMAC-SHA256 under the key in ``ESCALADE_AUDIT_KEY``.
  Someone who can write the database but does not hold the key cannot rebuild a consistent chain
  after editing it. The key id (:func:`key_id`, an HMAC of a fixed text under the key) names the key
  without revealing it, so a wrong key is told apart from an edit.

A trail may start with SHA-256 entries and go on with keyed ones once a key is set: such a mixed
trail verifies. The other way round is refused when appending (:func:`check_append`), and an
unkeyed entry after keyed ones fails verification: it is what rewriting the newest entries without
the key would look like. Entries written before entries named their seal are checked with SHA-256,
then with the key. The store also keeps the head (last ``seq`` and hash), so removing the newest
entries is detected too.

:func:`verify_chain` walks the entries in order and names the first one that was edited (its hash
no longer matches its body), removed (a gap in ``seq``, or a head beyond the last entry) or moved
(its body's ``seq`` or previous hash does not fit where it stands), or that cannot be checked
because the key is missing or wrong.

Someone who can write the database can still cut off the newest entries *and* move the head back
to match, or rebuild a whole SHA-256 trail. Two checks catch that: rows refer to their entries, so
a decision whose entry is gone is reported (``referenced``); and an **anchor**, the head's position
and hash copied somewhere else earlier (``escalade audit verify`` prints it), must still be found in
the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from escalade.exceptions import AuditKeyError

__all__ = [
    "AUDIT_KEY_ENV",
    "GENESIS",
    "AuditDraft",
    "AuditEntry",
    "AuditHead",
    "AuditSnapshot",
    "ChainReport",
    "StoredRow",
    "audit_key",
    "canonical_json",
    "chain_hash",
    "check_append",
    "key_id",
    "make_entry",
    "verify_chain",
]

#: The environment variable holding the key that makes the chain an HMAC chain.
AUDIT_KEY_ENV = "ESCALADE_AUDIT_KEY"
#: The "previous hash" of the first entry.
GENESIS = "0" * 64
SHA256 = "sha256"
HMAC_SHA256 = "hmac-sha256"
#: Why verification failed: an edit (or removal, or move); a key that is missing or wrong; or a key
#: given for a trail none of whose entries is sealed with it (written before it was set, or rebuilt without it).
Cause = Literal["tampered", "missing_key", "wrong_key", "unkeyed"]


def audit_key() -> bytes | None:
    """The HMAC key from ``ESCALADE_AUDIT_KEY``, if set."""
    value = os.environ.get(AUDIT_KEY_ENV)
    return value.encode() if value else None


def key_id(key: bytes) -> str:
    """A short name for ``key`` that does not reveal it: an HMAC of a fixed text under the key."""
    return hmac.new(key, b"escalade audit key id", hashlib.sha256).hexdigest()[:16]


def canonical_json(value: Any) -> str:
    """One fixed text for a JSON value: sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison of two hashes as stored (any text, even edited to non-hex)."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def chain_hash(body: str, key: bytes | None) -> str:
    data = body.encode("utf-8")
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def _parse(body: str) -> dict[str, Any] | None:
    """An entry's body as a JSON object (``None`` when it is not one: an edited entry)."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


@dataclass(frozen=True)
class AuditEntry:
    """One stored entry: its body (the hashed text) and hash."""

    seq: int
    body: str
    hash: str

    def content(self) -> dict[str, Any]:
        """The body parsed; an unreadable body (an edited entry) gives ``{}``."""
        return _parse(self.body) or {}

    @property
    def kind(self) -> str:
        return str(self.content().get("kind"))


@dataclass(frozen=True)
class AuditHead:
    """The newest entry's position and hash, as the store recorded them."""

    seq: int
    hash: str


@dataclass(frozen=True)
class StoredRow:
    """One table row the audit trail vouches for, as the store holds it (see :mod:`escalade.autonomy._trail`)."""

    #: ``decision``, ``outcome`` (a decision's outcome columns), ``calibration`` or ``area``.
    kind: str
    workspace: str
    #: The decision id, calibration id or area.
    key: str
    #: The audit entry the row says it came from (``None`` for an area count).
    seq: int | None
    #: Its material fields, JSON-ready, exactly as readers see them.
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class AuditSnapshot:
    """The trail and every row it vouches for, read at one instant."""

    entries: list[AuditEntry]
    head: AuditHead | None
    #: The highest entry any row refers to.
    referenced: int
    rows: list[StoredRow]


def make_entry(
    *,
    seq: int,
    previous: str,
    at: datetime,
    kind: str,
    workspace: str,
    decision_id: str | None,
    payload: Mapping[str, Any],
    key: bytes | None,
    record: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """The entry that follows one whose hash is ``previous``, sealed with ``key`` (SHA-256 without one)."""
    content: dict[str, Any] = {
        "seq": seq,
        "prev": previous,
        "at": at.isoformat(),
        "kind": kind,
        "workspace": workspace,
        "decision_id": decision_id,
        "payload": payload,
        "seal": HMAC_SHA256 if key else SHA256,
    }
    if key:
        content["key_id"] = key_id(key)
    if record is not None:
        content["record"] = record
    body = canonical_json(content)
    return AuditEntry(seq=seq, body=body, hash=chain_hash(body, key))


@dataclass(frozen=True, kw_only=True)
class AuditDraft:
    """An audit entry before the store gives it its place in the chain (and, for a row, its ``record``)."""

    at: datetime
    kind: str
    workspace: str
    decision_id: str | None
    payload: Mapping[str, Any]
    #: The fields of the row the entry vouches for; the store fills it in with what it writes.
    record: Mapping[str, Any] | None = None

    def after(self, head: AuditHead | None, key: bytes | None) -> AuditEntry:
        """The entry that follows ``head`` (the chain's start when ``None``)."""
        return make_entry(
            seq=(head.seq if head else 0) + 1,
            previous=head.hash if head else GENESIS,
            at=self.at,
            kind=self.kind,
            workspace=self.workspace,
            decision_id=self.decision_id,
            payload=self.payload,
            key=key,
            record=self.record,
        )


def check_append(last: AuditEntry | None, key: bytes | None) -> None:
    """Refuse (:class:`AuditKeyError`) to follow ``last`` with an entry sealed with ``key`` if it would break the trail.

    After a keyed entry the next one needs the same key: an unkeyed one could never verify, and one
    under another key would leave a trail no single key verifies. The newest entry's seal is judged
    as :func:`verify_chain` judges it; an edit of a sealed entry is left for verification to report.
    """
    body = last.content() if last is not None else {}
    if last is None or not body:
        return  # an empty trail, or an unreadable newest entry (verify reports that)
    found = _seal_problem(last, body, _Seals(key))
    if found is None:
        return
    trail_key = body.get("key_id")
    if found[0] == "missing_key":
        raise AuditKeyError(
            f"the audit trail is sealed with HMAC-SHA256 (key id {trail_key}) up to entry {last.seq}: set"
            f" {AUDIT_KEY_ENV} to its key (an entry sealed without it would break the trail); nothing was appended"
        )
    if found[0] == "wrong_key":
        raise AuditKeyError(
            f"{AUDIT_KEY_ENV} is not the audit trail's key: its entries are sealed with key id {trail_key}, this key's"
            f" id is {key_id(key) if key else None}; nothing was appended"
        )
    if "seal" not in body:  # written before entries named their seal: another key and an edit look alike
        raise AuditKeyError(
            f"the newest audit entry ({last.seq}) is not sealed with SHA-256{' nor this key' if key else ''}: it was"
            f" written with another audit key (set {AUDIT_KEY_ENV} to it) or edited (run `escalade audit verify`);"
            " nothing was appended"
        )


@dataclass(frozen=True)
class ChainReport:
    """What verification found."""

    ok: bool
    entries: int
    #: The first bad entry's position (``None`` when the chain is intact).
    first_bad_seq: int | None = None
    #: Its decision id, when it has one.
    first_bad_decision: str | None = None
    problem: str = ""
    #: Some entries are sealed with the key (HMAC-SHA256).
    keyed: bool = False
    #: ``tampered``, or the key needed to check an entry is missing or wrong (``None`` when intact).
    cause: Cause | None = None
    #: The first entry sealed with the key, and the key's id.
    keyed_from: int | None = None
    key_id: str | None = None
    #: Table rows checked against the chain (see :func:`escalade.autonomy._trail.verify_trail`).
    rows: int | None = None
    #: Rows whose entries were written before entries carried their row's fields (not compared).
    unchecked_rows: int = 0
    #: The table field that differs from the chain, for a table edit.
    field: str | None = None
    #: ``SEQ:HASH`` of the head verified (an intact, non-empty trail): keep it elsewhere, pass it back later.
    anchor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def describe(self) -> str:
        if not self.ok and self.rows is not None:
            where = f" at entry {self.first_bad_seq}" if self.first_bad_seq is not None else ""
            return f"the tables differ from the audit trail{where}: {self.problem}"
        if not self.ok:
            which = f"entry {self.first_bad_seq}"
            if self.first_bad_decision:
                which += f" (decision {self.first_bad_decision!r})"
            if self.cause in ("missing_key", "wrong_key", "unkeyed"):
                return f"audit trail cannot be verified at {which}: {self.problem}"
            return f"audit trail broken at {which}: {self.problem}"
        if not self.keyed:
            how = "SHA-256 chain verified"
        elif self.keyed_from == 1:
            how = f"HMAC-SHA256 chain verified (key id {self.key_id})"
        else:
            how = (
                f"chain verified: entries 1-{(self.keyed_from or 1) - 1} sealed with SHA-256 only (written before"
                f" the key was set), {self.keyed_from}-{self.entries} with HMAC-SHA256 (key id {self.key_id})"
            )
        rows = ""
        if self.rows is not None:
            rows = f"; {self.rows} table rows match it"
            if self.unchecked_rows:
                rows += f" ({self.unchecked_rows} written before rows were sealed could not be compared)"
        return f"audit trail intact: {self.entries} entries, {how}{rows}"


@dataclass
class _Seals:
    """What the walk has learned about how the trail is sealed."""

    key: bytes | None
    sealed_seen: bool = False
    keyed_from: int | None = None
    trail_key: str | None = None


def _bad(
    entries: int, seq: int | None, body: Mapping[str, Any] | None, problem: str, seals: _Seals, cause: Cause
) -> ChainReport:
    decision = body.get("decision_id") if body else None
    return ChainReport(
        False,
        entries,
        seq,
        str(decision) if decision else None,
        problem,
        seals.keyed_from is not None,
        cause,
        seals.keyed_from,
        seals.trail_key,
    )


_EDITED = "its hash does not match its content: edited"


def _unsealed(entry: AuditEntry, seals: _Seals) -> tuple[Cause, str] | bool:
    """An entry from before seals were named: keyed (``True``), not (``False``), or the problem."""
    if seals.sealed_seen:
        return "tampered", "it does not name its seal, unlike the entries before it: edited"
    if same_hash(chain_hash(entry.body, None), entry.hash):
        return False
    if seals.key is not None and same_hash(chain_hash(entry.body, seals.key), entry.hash):
        return True
    hint = (
        " (or written with another audit key)" if seals.key else f" (or written with an audit key: set {AUDIT_KEY_ENV})"
    )
    return "tampered", _EDITED + hint


def _keyed(entry: AuditEntry, body: Mapping[str, Any], seals: _Seals) -> tuple[Cause, str] | bool:
    """An entry sealed with HMAC-SHA256: ``True``, or why it cannot be trusted."""
    named = body.get("key_id")
    if seals.trail_key is not None and named != seals.trail_key:
        return "tampered", f"it names key id {named} but the entries before it {seals.trail_key}: edited"
    if seals.key is None:
        return "missing_key", f"it is sealed with HMAC-SHA256 (key id {named}): set {AUDIT_KEY_ENV} to verify it"
    mine = key_id(seals.key)
    if not same_hash(chain_hash(entry.body, seals.key), entry.hash):
        if named != mine and seals.trail_key is None:
            return "wrong_key", (
                f"it is sealed with HMAC-SHA256 under key id {named}, but {AUDIT_KEY_ENV} is another key (id {mine})"
            )
        return "tampered", _EDITED
    if named != mine:
        return "tampered", "its key id was changed: edited"
    return True


def _seal_problem(entry: AuditEntry, body: Mapping[str, Any], seals: _Seals) -> tuple[Cause, str] | None:
    """Whether the entry's hash is what its seal says, and the seal fits the entries before it."""
    seal = body.get("seal")
    if seal is None:
        found = _unsealed(entry, seals)
    else:
        seals.sealed_seen = True
        if seal == SHA256:
            found = False if same_hash(chain_hash(entry.body, None), entry.hash) else ("tampered", _EDITED)
        elif seal == HMAC_SHA256:
            found = _keyed(entry, body, seals)
        else:
            found = "tampered", f"it names an unknown seal {seal!r}: edited"
    if isinstance(found, tuple):
        return found
    if found and seals.keyed_from is None:
        seals.keyed_from = entry.seq
        seals.trail_key = key_id(seals.key) if seals.key else None
    if not found and seals.keyed_from is not None:
        return "tampered", (
            f"it is sealed with SHA-256 after keyed entries (from entry {seals.keyed_from}): rewritten without the key"
        )
    return None


def _link_problem(entry: AuditEntry, body: Mapping[str, Any], expected: int, previous: str) -> str:
    """What is wrong with where one entry stands ("" when nothing)."""
    if entry.seq != expected:
        what = "missing" if entry.seq > expected else "repeated or out of order"
        return f"expected entry {expected} here: entries are {what}"
    if body.get("seq") != entry.seq:
        return f"its content says it is entry {body.get('seq')}: moved"
    if body.get("prev") != previous:
        return "it does not follow the entry before it: removed or reordered"
    return ""


def _head_problem(head: AuditHead | None, last: int, previous: str, count: int) -> tuple[int, str] | None:
    """The recorded head against the last entry: ``(seq, problem)`` or ``None`` when they agree."""
    if head is None:
        return (1, "entries exist but the trail's head is missing (edited)") if count else None
    if head.seq == last and same_hash(head.hash, previous):
        return None
    if head.seq > last:
        return last + 1, f"the trail ends at entry {last} but {head.seq} were written: the newest entries were removed"
    return head.seq, "the recorded head does not match the last entry (edited)"


def _end_problem(
    head: AuditHead | None, last: int, previous: str, count: int, *, referenced: int, anchor: AuditHead | None
) -> tuple[int, str] | None:
    """What the end of the walk says: the head, the highest reference, an anchor not met on the way."""
    found = _head_problem(head, last, previous, count)
    if found is None and referenced > last:
        found = last + 1, f"a stored row refers to entry {referenced} but the trail ends at {last}: removed"
    if found is None and anchor is not None:
        found = last + 1, f"the anchor's entry {anchor.seq} is gone: the trail ends at {last} (removed)"
    return found


def _entry_problem(
    entry: AuditEntry, body: Mapping[str, Any], expected: int, previous: str, seals: _Seals, anchor: AuditHead | None
) -> tuple[Cause, str] | None:
    """``(cause, problem)`` for an entry (``body`` parsed) that does not check out where it stands, else ``None``."""
    sealed = _seal_problem(entry, body, seals)
    if sealed is not None:
        return sealed
    problem = _link_problem(entry, body, expected, previous)
    if not problem and anchor is not None and entry.seq == anchor.seq and not same_hash(entry.hash, anchor.hash):
        problem = "it differs from the anchor recorded earlier"
    return ("tampered", problem) if problem else None


_UNKEYED = (
    "none of its {count} entries is sealed with " + AUDIT_KEY_ENV + ": written before the key was set, or rebuilt"
    " without it (if the key was only just set, verify again once an entry has been written with it)"
)


def verify_chain(
    entries: Iterable[AuditEntry],
    head: AuditHead | None,
    key: bytes | None,
    *,
    referenced: int = 0,
    anchor: AuditHead | None = None,
    on_entry: Callable[[AuditEntry, Mapping[str, Any]], object] | None = None,
) -> ChainReport:
    """Check every seal and link (see the module docstring); ``entries`` in stored ``seq`` order.

    ``referenced``: the highest entry a stored row refers to; ``anchor``: an earlier head;
    ``on_entry``: called with each entry that checks out and its body, as the walk passes it (each
    body is parsed once, for both).
    """
    previous, expected, count = GENESIS, 1, 0
    seals = _Seals(key)
    anchored = anchor is None
    for entry in entries:
        count += 1
        body = _parse(entry.body)
        if body is None:
            return _bad(count, entry.seq, None, "its body is not a JSON object (edited)", seals, "tampered")
        found = _entry_problem(entry, body, expected, previous, seals, anchor)
        if found is not None:
            return _bad(count, entry.seq, body, found[1], seals, found[0])
        if on_entry is not None:
            on_entry(entry, body)
        anchored = anchored or (anchor is not None and entry.seq == anchor.seq)
        previous, expected = entry.hash, expected + 1
    last = expected - 1
    end = _end_problem(head, last, previous, count, referenced=referenced, anchor=None if anchored else anchor)
    if end is not None:
        return _bad(count, end[0], None, end[1], seals, "tampered")
    if key is not None and count and seals.keyed_from is None:
        return _bad(count, 1, None, _UNKEYED.format(count=count), seals, "unkeyed")
    verified = f"{head.seq}:{head.hash}" if head is not None and head.seq else None
    keyed = seals.keyed_from is not None
    return ChainReport(True, count, keyed=keyed, keyed_from=seals.keyed_from, key_id=seals.trail_key, anchor=verified)
