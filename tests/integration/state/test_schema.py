"""Schema migrations: an empty database reaches the latest version, an old one upgrades."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mappings.errors import StateError
from sync.state import migrations
from sync.state.db import StateDB
from sync.state.models import TABLES


def test_empty_database_migrates_to_the_models(state_url: str):
    db = StateDB(state_url)
    assert db.schema_version() == migrations.LATEST
    inspector = sa.inspect(db.engine)
    for model in TABLES:
        table = model.__table__
        found = {c["name"] for c in inspector.get_columns(table.name)}
        assert found == set(table.columns.keys()), table.name
    names = {n for n in inspector.get_table_names() if n.startswith("vs_")}
    assert names == {m.__table__.name for m in TABLES}  # every table has its model
    assert db.migrate() == []  # a second open applies nothing
    db.close()


def test_version_1_database_upgrades_and_keeps_its_data(state_url: str):
    old = StateDB(state_url, migrate=False)
    assert old.migrate(target=1) == [1]
    assert old.schema_version() == 1
    run = old.start_run("acme-sf")
    old.close()

    db = StateDB(state_url)  # opening migrates
    assert db.schema_version() == migrations.LATEST
    assert db.run(run)["status"] == "running"
    indexes = {i["name"] for i in sa.inspect(db.engine).get_indexes("vs_change_sets")}
    assert "ix_vs_change_sets_run_id" in indexes
    mirror = {i["name"] for i in sa.inspect(db.engine).get_indexes("vs_mirror")}
    assert "ix_vs_mirror_version" in mirror
    assert "ix_vs_mirror_modified" not in mirror  # created by version 2, dropped by 7
    db.close()


def test_database_newer_than_the_code_is_refused(state_url: str):
    db = StateDB(state_url)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE vs_schema_version SET version = 99"))
    with pytest.raises(StateError, match="schema version 99, newer than this valuesync"):
        db.migrate()
    db.close()


def test_unsupported_database_url_is_a_clear_error():
    with pytest.raises(StateError, match="supports sqlite:///path and postgresql"):
        StateDB("mysql://etl@db/state")


def test_repr_masks_the_password():
    db = StateDB("postgresql+psycopg://vs:s3cret-pw@127.0.0.1:1/x", migrate=False)
    assert "s3cret-pw" not in repr(db)
    assert "***" in repr(db)
