"""Quadrant migrations become CRM tasks for the account owners, once.

Scenario (issue 17): a 1 % change that moves 20 accounts out of Core creates 20 tasks
for their owners once, and zero on rerun. The change is an account manager's quadrant
override on 20 of 2,000 accounts; the tasks are read back from the sandbox CRM's own
store (Salesforce Task with WhatId/OwnerId; HubSpot task associated with the company).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from sync.alerts import after_run
from sync.state.alerts import AlertStore
from tests.integration.alerts.conftest import Receiver, Smtp
from tests.integration.pipeline.conftest import CRMS, Site, edit, out_field

MIGRATION = {
    "name": "core-lost",
    "kind": "quadrant_migration",
    "from": ["Core"],
    "to": ["Fix or Reprice"],
    "severity": "critical",
    "channels": ["owners", "mail"],
}


def crm_tasks(site: Site) -> list[dict[str, Any]]:
    """Tasks as the CRM holds them: account id, owner id, subject, description."""
    if site.crm == "salesforce":
        recs = site.server.sf.store.table("Task").records.values()
        return [
            {
                "account": r["WhatId"],
                "owner": r["OwnerId"],
                "subject": r["Subject"],
                "body": r["Description"],
            }
            for r in recs
        ]
    store = site.server.hs.store
    links = store.hubspot.associations
    out = []
    for r in store.table("tasks").records.values():
        companies = list(links.targets("tasks", r["_id"], "companies"))
        out.append(
            {
                "account": companies[0] if len(companies) == 1 else companies,
                "owner": r.get("hubspot_owner_id"),
                "subject": r["hs_task_subject"],
                "body": r["hs_task_body"],
            }
        )
    return out


def owners(site: Site) -> dict[str, str]:
    key = "OwnerId" if site.crm == "salesforce" else "hubspot_owner_id"
    return {rid: str(r.get(key)) for rid, r in site.records("accounts").items()}


@pytest.mark.slow
@pytest.mark.parametrize("crm", CRMS)
def test_twenty_accounts_leaving_core_get_twenty_tasks_once(
    crm: str, alert_site: Callable[..., Site], smtp: Smtp, receiver: Receiver
) -> None:
    site = alert_site(crm, [MIGRATION], accounts=2000)
    first = site.run()
    state = site.state()
    try:
        scores = state.scores(int(first.run_id), "accounts")
    finally:
        state.close()
    core = sorted(scores.loc[scores["quadrant"].astype(str) == "Core", "account_id"].astype(str))
    assert len(core) >= 20
    chosen = core[:20]  # 1 % of the accounts
    override = out_field(site, "accounts", "quadrant_override")
    for account in chosen:
        edit(site, "accounts", account, {override: "Fix or Reprice"})
    assert crm_tasks(site) == []

    second = site.run()
    tasks = crm_tasks(site)
    assert len(tasks) == 20
    assert sorted(t["account"] for t in tasks) == chosen
    owner_of = owners(site)
    assert all(t["owner"] == owner_of[t["account"]] for t in tasks)
    assert all("Core -> Fix or Reprice" in t["subject"] for t in tasks)
    assert all("valuesync key: vs-" in t["body"] for t in tasks)
    mails = [m for m in smtp.box.messages if "moved quadrant" in m["Subject"]]
    assert len(mails) == len({owner_of[a] for a in chosen})  # one notice per owner

    site.run()  # a rerun: nothing moved since, nothing new
    after_run(site.project(), None, site.env)  # and judging the same run again changes nothing
    assert len(crm_tasks(site)) == 20
    assert len([m for m in smtp.box.messages if "moved quadrant" in m["Subject"]]) == len(mails)
    state = site.state()
    try:
        recorded = AlertStore(state).tasks("sb")
    finally:
        state.close()
    assert len(recorded) == 20 and {r["status"] for r in recorded} == {"created"}
    assert {r["run_id"] for r in recorded} == {second.run_id}


def _move_core(site: Site, n: int, to: str = "Fix or Reprice") -> list[str]:
    """Run once, then override `n` Core accounts to `to`; their ids."""
    first = site.run()
    state = site.state()
    try:
        scores = state.scores(int(first.run_id), "accounts")
    finally:
        state.close()
    core = sorted(scores.loc[scores["quadrant"].astype(str) == "Core", "account_id"].astype(str))
    override = out_field(site, "accounts", "quadrant_override")
    for account in core[:n]:
        edit(site, "accounts", account, {override: to})
    return core[:n]


def test_tasks_switched_off_for_the_connection(
    alert_site: Callable[..., Site], smtp: Smtp, receiver: Receiver
) -> None:
    site = alert_site("salesforce", [MIGRATION], accounts=300)
    doc = yaml.safe_load(site.project_file.read_text())
    doc["alerts"]["channels"]["owners"]["connections"] = []  # CRM tasks off for every connection
    site.project_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    moved = _move_core(site, 3)
    site.run()
    assert crm_tasks(site) == []
    mails = [m for m in smtp.box.messages if "moved quadrant" in m["Subject"]]
    assert len(mails) == len({owners(site)[a] for a in moved})  # the e-mail still goes out


@pytest.mark.slow
def test_tasks_the_crm_failed_to_create_are_created_on_the_next_run(
    alert_site: Callable[..., Site], smtp: Smtp, receiver: Receiver
) -> None:
    site = alert_site("hubspot", [MIGRATION], accounts=300)
    moved = _move_core(site, 3)
    # HubSpot answers 500 to every attempt of the shared retry policy: the CRM is down
    site.server.faults.inject("500", times=6, path="/tasks/batch/create")
    assert site.run().status == "succeeded"  # the tasks failing does not fail the run
    assert crm_tasks(site) == []
    shown = vs_status(site)
    assert shown["failed_tasks"] == 3
    site.run()  # nothing moved since, but the 3 failed tasks are retried
    assert sorted(t["account"] for t in crm_tasks(site)) == moved
    assert vs_status(site)["failed_tasks"] == 0
    site.run()
    assert len(crm_tasks(site)) == 3


def vs_status(site: Site) -> dict[str, Any]:
    from sync.alerts.status import alert_status

    state = site.state()
    try:
        return alert_status(state, "sb")
    finally:
        state.close()
