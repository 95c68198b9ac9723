"""State DB fixtures: the same tests on SQLite (a temp file) and PostgreSQL (a unique schema).

PostgreSQL runs when VALUESYNC_TEST_DATABASE_URL is set and answers; each test gets its own
schema (dropped afterwards) through the URL's search_path, so parallel runs never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa

PG_ENV = "VALUESYNC_TEST_DATABASE_URL"
NO_PG = "no PostgreSQL: set VALUESYNC_TEST_DATABASE_URL"


def _pg_base() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        return None
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception:  # unreachable server: skip, do not fail
        return None
    return url


PG_BASE = _pg_base()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL to an empty state database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/.valuesync/state.db"
        return
    if PG_BASE is None:
        pytest.skip(NO_PG)
    schema = f"vs_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_BASE else "?"
    try:
        yield f"{PG_BASE}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
