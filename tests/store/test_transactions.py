"""One transaction helper for the store: a snapshot read sees one instant, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from escalade.store import SqlStore, transaction

COUNT = text("SELECT count(*) FROM audit_entries")
INSERT = text("INSERT INTO audit_entries (seq, body, hash) VALUES (:seq, '{}', 'x')")


def test_snapshot_read_does_not_see_later_commits(store: SqlStore) -> None:
    """Rows committed by another writer during a snapshot read stay invisible to it until it ends."""
    with transaction(store.engine, what="test") as conn:
        conn.execute(INSERT, {"seq": 1})
    with transaction(store.engine, write=False, snapshot=True, what="test") as snapshot:
        assert snapshot.execute(COUNT).scalar_one() == 1
        with transaction(store.engine, what="test") as conn:
            conn.execute(INSERT, {"seq": 2})
        assert snapshot.execute(COUNT).scalar_one() == 1
    with transaction(store.engine, write=False, what="test") as conn:
        assert conn.execute(COUNT).scalar_one() == 2


def test_plain_read_sees_later_commits(store: SqlStore) -> None:
    """Without a snapshot, a later read in the same block sees what was committed in between (the contrast)."""
    with transaction(store.engine, write=False, what="test") as reader:
        before = reader.execute(COUNT).scalar_one()
        with transaction(store.engine, what="test") as conn:
            conn.execute(INSERT, {"seq": 1})
        after = reader.execute(COUNT).scalar_one()
    assert (before, after) == (0, 1)
