"""Migrations: an empty database is brought to the newest schema, and upgrading twice is harmless."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect

from escalade.store import Base, SqlStore, current_revision, head_revision, upgrade


def test_empty_database_migrates_to_head(db_url: str) -> None:
    """Upgrading an empty database creates every table and column of the models, at the head revision."""
    engine = create_engine(db_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision() == "0013_person_tokens"
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        assert inspector.has_table(table.name), table.name
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
    upgrade(engine)  # idempotent
    assert current_revision(engine) == "0013_person_tokens"
    engine.dispose()


def test_store_opens_and_upgrades(db_url: str) -> None:
    """Opening a store on a new file creates its schema."""
    store = SqlStore(db_url)
    assert current_revision(store.engine) == head_revision()
    assert store.list_runs() == []
    store.close()


def test_concurrent_first_opens_do_not_collide(tmp_path: Path) -> None:
    """Several processes opening the same fresh database at once all end at the head revision."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    code = "import sys; from escalade.store._sql import SqlStore; SqlStore(sys.argv[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    assert current_revision(create_engine(url)) == head_revision()


def test_downgrading_person_tokens_revokes_them(db_url: str) -> None:
    """Below 0013 a token would lose its person and answer as anyone: the downgrade revokes it."""
    from alembic import command  # noqa: PLC0415  (only this test steps down)

    from escalade.store._migrate import _config  # noqa: PLC0415

    store = SqlStore(db_url)
    token = store.api_keys.create("acme", person="ana")
    shared = store.api_keys.create("acme")
    cfg = _config()
    with store.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0012_inbox")
    with store.engine.connect() as connection:
        rows: dict[str, object] = dict(connection.exec_driver_sql("SELECT id, revoked_at FROM api_keys").all())
    assert rows[token.id] is not None
    assert rows[shared.id] is None
    upgrade(store.engine)
    store.close()
