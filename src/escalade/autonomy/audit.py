"""The audit trail: an append-only, hash-chained record of every decision and what followed.

Each entry's body is canonical JSON (sorted keys, no whitespace) holding its position ``seq``, its
time, its kind (``decision``, ``outcome``, ``calibration``), the workspace, the decision id, the
payload and the previous entry's hash. Its hash is SHA-256 of the body, or HMAC-SHA256 when a key is
set (``ESCALADE_AUDIT_KEY``): then someone who can write the database but does not hold the key
cannot rebuild a consistent chain after editing it. The store also keeps the head (last ``seq`` and
hash), so removing the newest entries is detected too.

:func:`verify_chain` walks the entries in order and names the first one that was edited (its hash
no longer matches its body), removed (a gap in ``seq``, or a head beyond the last entry) or moved
(its body's ``seq`` or previous hash does not fit where it stands).

Someone who can write the database can still cut off the newest entries *and* move the head back
to match. Two checks catch that: decisions refer to their entries, so a decision whose entry is gone
is reported (``referenced``); and an **anchor**, the head's position and hash copied somewhere else
earlier (``escalade audit verify`` prints it), must still be found in the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "AUDIT_KEY_ENV",
    "GENESIS",
    "AuditEntry",
    "AuditHead",
    "ChainReport",
    "audit_key",
    "canonical_json",
    "chain_hash",
    "make_entry",
    "verify_chain",
]

#: The environment variable holding the key that makes the chain an HMAC chain.
AUDIT_KEY_ENV = "ESCALADE_AUDIT_KEY"
#: The "previous hash" of the first entry.
GENESIS = "0" * 64


def audit_key() -> bytes | None:
    """The HMAC key from ``ESCALADE_AUDIT_KEY``, if set."""
    value = os.environ.get(AUDIT_KEY_ENV)
    return value.encode() if value else None


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


@dataclass(frozen=True)
class AuditEntry:
    """One stored entry: its body (the hashed text) and hash."""

    seq: int
    body: str
    hash: str

    def content(self) -> dict[str, Any]:
        """The body parsed; an unreadable body (an edited entry) gives ``{}``."""
        try:
            parsed = json.loads(self.body)
        except (ValueError, RecursionError):
            return {}
        return parsed if isinstance(parsed, dict) else {}

    @property
    def kind(self) -> str:
        return str(self.content().get("kind"))


@dataclass(frozen=True)
class AuditHead:
    """The newest entry's position and hash, as the store recorded them."""

    seq: int
    hash: str


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
) -> AuditEntry:
    """The entry that follows one whose hash is ``previous``."""
    body = canonical_json(
        {
            "seq": seq,
            "prev": previous,
            "at": at.isoformat(),
            "kind": kind,
            "workspace": workspace,
            "decision_id": decision_id,
            "payload": payload,
        }
    )
    return AuditEntry(seq=seq, body=body, hash=chain_hash(body, key))


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
    keyed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def describe(self) -> str:
        how = "HMAC-SHA256" if self.keyed else "SHA-256"
        if self.ok:
            return f"audit trail intact: {self.entries} entries, {how} chain verified"
        which = f"entry {self.first_bad_seq}"
        if self.first_bad_decision:
            which += f" (decision {self.first_bad_decision!r})"
        return f"audit trail broken at {which}: {self.problem}"


def _bad(entries: int, seq: int | None, body: Mapping[str, Any] | None, problem: str, keyed: bool) -> ChainReport:
    decision = body.get("decision_id") if body else None
    return ChainReport(False, entries, seq, str(decision) if decision else None, problem, keyed)


def _link_problem(entry: AuditEntry, body: Mapping[str, Any], expected: int, previous: str, key: bytes | None) -> str:
    """What is wrong with one entry where it stands ("" when nothing)."""
    if not same_hash(chain_hash(entry.body, key), entry.hash):
        hint = "" if key else " (or it was written with an audit key: set ESCALADE_AUDIT_KEY)"
        return f"its hash does not match its content: edited{hint}"
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


def verify_chain(
    entries: Iterable[AuditEntry],
    head: AuditHead | None,
    key: bytes | None,
    *,
    referenced: int = 0,
    anchor: AuditHead | None = None,
) -> ChainReport:
    """Check every link (see the module docstring); ``entries`` in stored ``seq`` order.

    ``referenced``: the highest entry a stored decision refers to; ``anchor``: an earlier head.
    """
    previous, expected, count = GENESIS, 1, 0
    keyed = key is not None
    anchored = anchor is None
    for entry in entries:
        count += 1
        try:
            body = json.loads(entry.body)
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            return _bad(count, entry.seq, None, "its body is not a JSON object (edited)", keyed)
        problem = _link_problem(entry, body, expected, previous, key)
        if problem:
            return _bad(count, entry.seq, body, problem, keyed)
        if anchor is not None and entry.seq == anchor.seq:
            if not same_hash(entry.hash, anchor.hash):
                return _bad(count, entry.seq, body, "it differs from the anchor recorded earlier", keyed)
            anchored = True
        previous, expected = entry.hash, expected + 1
    last = expected - 1
    found = _head_problem(head, last, previous, count)
    if found is None and referenced > last:
        found = last + 1, f"a stored decision refers to entry {referenced} but the trail ends at {last}: removed"
    if found is None and not anchored:
        assert anchor is not None
        found = last + 1, f"the anchor's entry {anchor.seq} is gone: the trail ends at {last} (removed)"
    if found is not None:
        return _bad(count, found[0], None, found[1], keyed)
    return ChainReport(True, count, keyed=keyed)
