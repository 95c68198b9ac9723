"""Scheduler fixtures: a small sandbox CRM, a project pointing at it, and a state database
on SQLite (a file in the project) or on PostgreSQL (a fresh database per test, from
VALUESYNC_TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from connectors.sandbox.load import build_sandbox
from connectors.sandbox.salesforce.org import Credentials
from connectors.sandbox.sampledata import write_files
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.site import sample_as_of
from mappings.crm import shipped_mapping
from mappings.project import load_project
from sync.pipeline import runner as pipeline
from sync.pipeline.model_file import SHIPPED_VALUE_MODEL

PG_ENV = "VALUESYNC_TEST_DATABASE_URL"
RATES = {"USD": 0.92, "GBP": 1.17}


def secrets() -> dict[str, str]:
    c = Credentials()
    return {
        "SALESFORCE_USERNAME": c.username,
        "SALESFORCE_PASSWORD": c.password,
        "SALESFORCE_SECURITY_TOKEN": c.security_token,
        "SALESFORCE_CONSUMER_KEY": c.consumer_key,
        "SALESFORCE_CONSUMER_SECRET": c.consumer_secret,
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the project's SQLite file; a fresh PostgreSQL database's URL otherwise."""
    if request.param == "sqlite":
        yield None
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"no PostgreSQL: set {PG_ENV}")
    name = f"vs_sched_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Site:
    """A sandbox org with sample data, and a project (connection 'sb') pointing at it."""

    server: SandboxServer
    folder: Path
    env: dict[str, str]

    @property
    def project_file(self) -> Path:
        return self.folder / "valuesync.yaml"

    def runs(self) -> list[dict[str, object]]:
        state = pipeline.open_state(load_project(self.project_file), self.env)
        try:
            return state.runs(connection="sb", limit=1000)
        finally:
            state.close()


@pytest.fixture
def site(tmp_path: Path, make_sandbox: Callable[..., SandboxServer], state_url: str | None) -> Site:
    # Data up to last month: scheduled runs use the default as-of date (this month), and a
    # finance export older than max_staleness_months stops a run.
    sf_store, _, data = build_sandbox(20, seed=5, crm="salesforce", as_of=sample_as_of())
    server = make_sandbox(sf_store=sf_store)
    folder = tmp_path / "project"
    folder.mkdir()
    write_files(data, folder)
    model = yaml.safe_load(SHIPPED_VALUE_MODEL.read_text())
    (folder / "value_model.yaml").write_text(yaml.safe_dump({**model, "rates": RATES}))
    (folder / "finance.yaml").write_text(shipped_mapping("finance").read_text())
    env = {**os.environ, **secrets(), "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("VALUESYNC_LOG_LEVEL", None)
    state = {"url": "sqlite:///state/state.db"}
    if state_url:
        env["VALUESYNC_STATE_URL"] = state_url
        state = {"url_env": "VALUESYNC_STATE_URL"}
    conn = {
        "crm": "salesforce",
        "salesforce": {"kind": "password", "login_url": server.url, "instance_url": server.url},
        "mapping": str(shipped_mapping("salesforce")),
        "finance": "finance.yaml",
        "value_model": "value_model.yaml",
    }
    project = {"version": 1, "state": state, "connections": {"sb": conn}}
    (folder / "valuesync.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    pipeline.provision_fields(load_project(folder / "valuesync.yaml"), env=env)
    return Site(server, folder, env)
