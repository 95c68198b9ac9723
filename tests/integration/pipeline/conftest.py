"""Pipeline fixtures: a seeded sandbox CRM, a project folder (valuesync.yaml, finance export,
value model) pointing at it, and the secrets in an env mapping, as an ops admin sets them up.

Everything talks to the sandbox over loopback HTTP through the real connectors. Write
requests are counted by a request observer on the sandbox (method + path), so tests can
assert that nothing was written without trusting our own counters.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from connectors.sandbox.load import build_sandbox
from connectors.sandbox.salesforce.org import Credentials
from connectors.sandbox.sampledata import SampleData, write_files
from connectors.sandbox.server import SandboxServer
from mappings.crm import shipped_mapping
from mappings.project import LoadedProject, load_project
from sync.pipeline import runner as pipeline
from sync.pipeline.model_file import SHIPPED_VALUE_MODEL

AS_OF = date(2026, 7, 1)
"""The sample data is generated as of 2026-06-30; the engine's as_of is exclusive."""
TOKEN = "pat-sandbox-0000"
CRMS = ["salesforce", "hubspot"]
WRITE_PATHS = re.compile(
    r"/composite/sobjects|/jobs/ingest|/batch/update|/sobjects/\w+/\w{15,18}$|/crm/v3/imports/?$"
)
RATES = {"USD": 0.92, "GBP": 1.17}


def sandbox_env() -> dict[str, str]:
    c = Credentials()
    return {
        "SALESFORCE_USERNAME": c.username,
        "SALESFORCE_PASSWORD": c.password,
        "SALESFORCE_SECURITY_TOKEN": c.security_token,
        "SALESFORCE_CONSUMER_KEY": c.consumer_key,
        "SALESFORCE_CONSUMER_SECRET": c.consumer_secret,
        "HUBSPOT_ACCESS_TOKEN": TOKEN,
    }


def connection_block(crm: str, url: str) -> dict[str, Any]:
    if crm == "salesforce":
        return {"kind": "password", "login_url": url, "instance_url": url, "bulk_poll_seconds": 0}
    return {
        "base_url": url,
        "rate_limits": {"ten_second_limit": 1000, "search_per_second": 100},
    }


def write_project(
    folder: Path, crm: str, url: str, *, finance: bool = True, mapping: Path | None = None
) -> Path:
    """valuesync.yaml + value_model.yaml (+ finance.yaml) in `folder`; returns the file."""
    folder.mkdir(parents=True, exist_ok=True)
    model = yaml.safe_load(SHIPPED_VALUE_MODEL.read_text())
    model["rates"] = RATES
    (folder / "value_model.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    conn: dict[str, Any] = {
        "crm": crm,
        crm: connection_block(crm, url),
        "mapping": str(mapping or shipped_mapping(crm)),
        "value_model": "value_model.yaml",
    }
    if finance:
        shutil.copy(shipped_mapping("finance"), folder / "finance.yaml")
        conn["finance"] = "finance.yaml"
    project = {
        "version": 1,
        "state": {"url": "sqlite:///state/state.db"},
        "connections": {"sb": conn},
    }
    path = folder / "valuesync.yaml"
    path.write_text(yaml.safe_dump(project, sort_keys=False))
    return path


@dataclass
class Site:
    """A running sandbox for one CRM, the sample data in it, and a project pointing at it."""

    crm: str
    server: SandboxServer
    data: SampleData
    folder: Path
    env: dict[str, str]
    writes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def project_file(self) -> Path:
        return self.folder / "valuesync.yaml"

    def project(self) -> LoadedProject:
        return load_project(self.project_file)

    def run(self, **kw: Any) -> Any:
        return pipeline.run(self.project(), as_of=AS_OF, env=self.env, **kw)

    def plan(self, **kw: Any) -> Any:
        return pipeline.plan(self.project(), as_of=AS_OF, env=self.env, **kw)

    def provision(self) -> Any:
        return pipeline.provision_fields(self.project(), env=self.env)

    def state(self) -> Any:
        return pipeline.open_state(self.project(), self.env)

    @property
    def write_count(self) -> int:
        return len(self.writes)

    def _observe(self, method: str, path: str) -> None:
        if method in ("POST", "PATCH", "PUT") and WRITE_PATHS.search(path):
            self.writes.append((method, path))

    # -- CRM helpers -----------------------------------------------------------------
    def store(self) -> Any:
        return self.server.sf.store if self.crm == "salesforce" else self.server.hs.store

    def records(self, table: str) -> dict[str, dict[str, Any]]:
        """The CRM's records of a canonical table straight from the sandbox store (id -> fields)."""
        obj = _objects(self.crm)[table]
        return dict(self.store().table(obj).records)

    def outputs(self) -> pd.DataFrame:
        """Every output field of every account and opportunity, read through the connector."""
        return crm_outputs(self)


def _objects(crm: str) -> dict[str, str]:
    if crm == "salesforce":
        return {"accounts": "Account", "opportunities": "Opportunity"}
    return {"accounts": "companies", "opportunities": "deals"}


def crm_outputs(site: Site, skip: tuple[str, ...] = ()) -> pd.DataFrame:
    """Output values of all records read back through the connector (a fresh full pull)."""
    from sync.pipeline.diff import normalise
    from sync.pipeline.pull import canonical_page, pull_fields
    from sync.pipeline.setup import build_connector, load_setup

    setup = load_setup(site.project(), None)
    connector = build_connector(setup, site.env)
    rows = []
    for table in ("accounts", "opportunities"):
        fields = pull_fields(setup, connector, table)
        frames = [
            canonical_page(setup, table, p.records)
            for p in connector.pull(table, fields=fields, since=None, full=True)
        ]
        frame = pd.concat([f for f in frames if len(f)], ignore_index=True)
        key = "account_id" if table == "accounts" else "opportunity_id"
        for column in setup.outputs(table):
            if column in skip:
                continue
            values = normalise(frame[column], column) if column in frame else [None] * len(frame)
            rows.append(
                pd.DataFrame(
                    {
                        "object": table,
                        "record_id": frame[key].astype(str),
                        "column": column,
                        "value": list(values),
                    }  # fmt: skip
                )
            )
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values(["object", "record_id", "column"]).reset_index(drop=True)


@pytest.fixture
def make_site(tmp_path: Path) -> Iterator[Callable[..., Site]]:
    """Factory: `make_site(crm, accounts=..., seed=..., finance=True, provision=True)`."""
    sites: list[Site] = []

    def factory(
        crm: str, accounts: int = 300, seed: int = 7, *, finance: bool = True,
        provision: bool = True, name: str = "site",
    ) -> Site:  # fmt: skip
        sf, hs, data = build_sandbox(accounts, seed, crm)
        server = SandboxServer(sf_store=sf, hs_store=hs, hubspot_token=TOKEN).start()
        folder = tmp_path / f"{name}-{crm}"
        write_files(data, folder)
        write_project(folder, crm, server.url, finance=finance)
        site = Site(crm, server, data, folder, sandbox_env())
        server.faults.observers.append(site._observe)
        sites.append(site)
        if provision:
            site.provision()
        return site

    yield factory
    for s in sites:
        s.server.stop()


def edit(site: Site, table: str, record_id: str, fields: dict[str, Any]) -> None:
    """Change CRM fields of one record through the real client, as a person would."""
    from connectors.sandbox.clients import hubspot_client, salesforce_client

    obj = _objects(site.crm)[table]
    if site.crm == "salesforce":
        getattr(salesforce_client(site.server.url), obj).update(record_id, fields)
    else:
        from hubspot.crm.objects import SimplePublicObjectInput

        api = getattr(hubspot_client(site.server.url).crm, obj).basic_api
        props = {k: str(v) for k, v in fields.items()}
        api.update(record_id, SimplePublicObjectInput(properties=props))
    settle(site)


def settle(site: Site) -> None:
    """Wait until real time passes the sandbox's last modification stamp.

    The sandbox clock is strictly increasing (1 ms per HubSpot write), so right after a
    batch of writes it runs ahead of real time; an incremental pull ends at "now" and
    would see a record stamped in the future only on the run after. A real CRM never
    stamps in the future, so the tests wait instead of changing the pipeline.
    """
    last = getattr(site.store().clock, "_last", None)
    if last is not None:
        ahead = (last - datetime.now(UTC)).total_seconds()
        if ahead > 0:
            time.sleep(ahead + 0.01)


def out_field(site: Site, table: str, column: str) -> str:
    """The CRM field of an output column (or 'quadrant_override' for the override field)."""
    from sync.pipeline.setup import load_setup

    setup = load_setup(site.project(), None)
    if column == "quadrant_override":
        found = setup.override_field(table)
        assert found is not None
        return found
    return setup.outputs(table)[column]
