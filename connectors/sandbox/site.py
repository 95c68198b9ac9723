"""The demo's sandbox CRM and project folder: seeded, served on loopback, configured.

`start_site(crm, accounts, seed, folder)` generates the sample population as of the last
day of the previous month (so the pipeline's default as_of, the first day of this month,
scores complete months), loads it into a fresh sandbox org or portal, serves it on a
free 127.0.0.1 port, and writes the project folder the pipeline reads: `valuesync.yaml`
(secrets only as environment variable *names*), the finance mapping next to the sample
finance export, and the value model with the sample's currency rates. The sandbox's
credentials are public sandbox values; `site.env` holds them for this process only.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from connectors.sandbox.faults import FaultProfile
from connectors.sandbox.salesforce.org import Credentials
from connectors.sandbox.sampledata import SampleData, generate, write_files
from connectors.sandbox.sampledata_people import EUR_RATE
from connectors.sandbox.server import SandboxServer
from mappings import SHIPPED_VALUE_MODEL
from mappings.crm import shipped_mapping
from mappings.project import LoadedProject, load_project

HUBSPOT_TOKEN = "pat-sandbox-0000"
CONNECTION = "demo"
OBJECTS = {
    "salesforce": {"accounts": "Account", "opportunities": "Opportunity"},
    "hubspot": {"accounts": "companies", "opportunities": "deals"},
}


def sample_as_of(today: date | None = None) -> date:
    """The last day of the previous month: the sample's last complete month ends there."""
    today = today or datetime.now(UTC).date()
    return today.replace(day=1) - timedelta(days=1)


def sandbox_env() -> dict[str, str]:
    """The sandbox's public credentials under the variable names the project file names."""
    c = Credentials()
    return {
        "SALESFORCE_USERNAME": c.username,
        "SALESFORCE_PASSWORD": c.password,
        "SALESFORCE_SECURITY_TOKEN": c.security_token,
        "SALESFORCE_CONSUMER_KEY": c.consumer_key,
        "SALESFORCE_CONSUMER_SECRET": c.consumer_secret,
        "HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN,
    }


@dataclass
class DemoSite:
    """A running sandbox for one CRM, its sample data, and the project pointing at it."""

    crm: str
    server: SandboxServer
    data: SampleData
    folder: Path
    env: dict[str, str]

    @property
    def project_file(self) -> Path:
        return self.folder / "valuesync.yaml"

    def project(self) -> LoadedProject:
        return load_project(self.project_file)

    def object_name(self, table: str) -> str:
        return OBJECTS[self.crm][table]

    def stop(self) -> None:
        self.server.stop()


def start_site(
    crm: str, accounts: int, seed: int, folder: Path, *, profile: FaultProfile | None = None
) -> DemoSite:
    """Seed a sandbox for `crm`, serve it on a free loopback port, write the project."""
    from connectors.sandbox.hubspot.schema import new_portal_store
    from connectors.sandbox.load import load_hubspot, load_salesforce
    from connectors.sandbox.salesforce.schema import new_org_store

    data = generate(accounts, seed, as_of=sample_as_of())
    sf_store = hs_store = None
    if crm == "salesforce":
        sf_store = new_org_store()
        load_salesforce(sf_store, data)
    else:
        hs_store = new_portal_store()
        load_hubspot(hs_store, data)
    server = SandboxServer(
        sf_store=sf_store, hs_store=hs_store, profile=profile, hubspot_token=HUBSPOT_TOKEN
    ).start()
    try:
        write_project(folder, crm, server.url, data)
    except BaseException:
        server.stop()
        raise
    return DemoSite(crm, server, data, folder, sandbox_env())


def connection_block(crm: str, url: str) -> dict[str, Any]:
    """The CRM block of the connection: where the sandbox is; secrets by variable name."""
    if crm == "salesforce":
        return {
            "kind": "password",
            "login_url": url,
            "instance_url": url,
            "bulk_poll_seconds": 0.2,
            "username_env": "SALESFORCE_USERNAME",
            "password_env": "SALESFORCE_PASSWORD",
            "security_token_env": "SALESFORCE_SECURITY_TOKEN",
            "consumer_key_env": "SALESFORCE_CONSUMER_KEY",
            "consumer_secret_env": "SALESFORCE_CONSUMER_SECRET",
        }
    return {
        "base_url": url,
        "auth": {"kind": "private_app", "token_env": "HUBSPOT_ACCESS_TOKEN"},
        # the sandbox answers like a HubSpot Pro portal (190 calls per 10 s)
        "rate_limits": {"ten_second_limit": 190, "search_per_second": 5},
    }


def write_project(folder: Path, crm: str, url: str, data: SampleData) -> Path:
    """valuesync.yaml, finance.yaml + the export, value_model.yaml (+ rates); the file."""
    if folder.exists():
        shutil.rmtree(folder)  # a fresh demo: new sandbox ids, so no stale state
    folder.mkdir(parents=True)
    write_files(data, folder)
    # The finance mapping reads `finance.csv` relative to its own folder, so it sits
    # next to the export; the CRM mapping is the shipped one, used as it is.
    shutil.copy(shipped_mapping("finance"), folder / "finance.yaml")
    model = yaml.safe_load(SHIPPED_VALUE_MODEL.read_text(encoding="utf-8"))
    model["rates"] = {cur: round(1 / rate, 6) for cur, rate in EUR_RATE.items() if cur != "EUR"}
    (folder / "value_model.yaml").write_text(
        "# The shipped value model plus the sample's currencies (EUR per unit).\n"
        + yaml.safe_dump(model, sort_keys=False),
        encoding="utf-8",
    )
    project = {
        "version": 1,
        "state": {"url": "sqlite:///state.db"},
        "connections": {
            CONNECTION: {
                "crm": crm,
                crm: connection_block(crm, url),
                "mapping": str(shipped_mapping(crm)),
                "finance": "finance.yaml",
                "value_model": "value_model.yaml",
            }
        },
    }
    path = folder / "valuesync.yaml"
    path.write_text(
        "# The demo's project: the sandbox CRM on loopback. Secrets are read from the\n"
        "# environment variables named here (the demo sets them to the sandbox's values).\n"
        + yaml.safe_dump(project, sort_keys=False),
        encoding="utf-8",
    )
    return path


def read_back(site: DemoSite, table: str, ids: list[str], fields: list[str]) -> pd.DataFrame:
    """Fields of records as the CRM holds them now, read through the real client library."""
    from connectors.sandbox.clients import hubspot_client, salesforce_client

    obj = site.object_name(table)
    if not ids:
        return pd.DataFrame(columns=["id", *fields])
    if site.crm == "salesforce":
        sf = salesforce_client(site.server.url)
        quoted = ",".join(f"'{i}'" for i in ids)  # ids come from the CRM itself
        soql = f"SELECT Id, {', '.join(fields)} FROM {obj} WHERE Id IN ({quoted})"
        rows = sf.query_all(soql)["records"]
        frame = pd.DataFrame([{"id": r["Id"], **{f: r.get(f) for f in fields}} for r in rows])
    else:
        from hubspot.crm.objects import BatchReadInputSimplePublicObjectId

        api = hubspot_client(site.server.url).crm.objects.batch_api
        body = BatchReadInputSimplePublicObjectId(
            inputs=[{"id": i} for i in ids], properties=fields, properties_with_history=[]
        )
        result = api.read(obj, body)
        frame = pd.DataFrame(
            [{"id": r.id, **{f: r.properties.get(f) for f in fields}} for r in result.results]
        )
    order = {i: n for n, i in enumerate(ids)}
    return frame.sort_values("id", key=lambda s: s.map(order)).reset_index(drop=True)


def account_ids_by_name(site: DemoSite, names: list[str]) -> dict[str, str]:
    """CRM ids of accounts by exact name (for the A/B pair), through the real client."""
    from connectors.sandbox.clients import hubspot_client, salesforce_client

    if site.crm == "salesforce":
        sf = salesforce_client(site.server.url)
        quoted = ",".join("'" + n.replace("'", "\\'") + "'" for n in names)
        rows = sf.query_all(f"SELECT Id, Name FROM Account WHERE Name IN ({quoted})")["records"]
        return {r["Name"]: r["Id"] for r in rows}
    from hubspot.crm.objects import PublicObjectSearchRequest

    api = hubspot_client(site.server.url).crm.objects.search_api
    out: dict[str, str] = {}
    for name in names:
        request = PublicObjectSearchRequest(
            filter_groups=[
                {"filters": [{"propertyName": "name", "operator": "EQ", "value": name}]}
            ],
            properties=["name"],
            limit=1,
        )
        for r in api.do_search("companies", request).results:
            out[name] = r.id
    return out
