"""Task creation on both wire protocols, through the real client libraries, with the
per-record failures the CRMs report (a bad account id, a missing required property)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from connectors.base import TaskSpec
from connectors.hubspot.tasks import BATCH
from connectors.salesforce.tasks import COLLECTION_SIZE
from connectors.sandbox.clients import hubspot_client, salesforce_client
from sync.pipeline.setup import build_connector, load_setup
from tests.integration.pipeline.conftest import CRMS, Site


def spec(i: int, account: str, owner: str | None) -> TaskSpec:
    return TaskSpec(
        f"vs-key-{i:04d}",
        account,
        owner,
        f"Review {i}",
        "Moved: Core -> Develop",
        date(2026, 7, 8),
        "high",
    )


@pytest.mark.parametrize("crm", CRMS)
def test_tasks_created_in_batches_with_bad_records_as_data(
    crm: str, make_site: Callable[..., Site]
) -> None:
    site = make_site(crm, accounts=260, provision=False)
    accounts = site.records("accounts")
    owner_key = "OwnerId" if crm == "salesforce" else "hubspot_owner_id"
    specs = [spec(i, a, str(r.get(owner_key))) for i, (a, r) in enumerate(sorted(accounts.items()))]
    bad_id = "001000000009999AAA" if crm == "salesforce" else "99999999"
    specs.append(spec(9999, bad_id, None))
    connector = build_connector(load_setup(site.project(), None), site.env)
    result = connector.create_tasks(specs)
    assert len(result.created) == len(accounts) and list(result.failed) == ["vs-key-9999"]
    size = COLLECTION_SIZE if crm == "salesforce" else BATCH
    batches = -(-len(specs) // size)  # the largest batches the API allows
    # HubSpot refuses the bad input's whole batch (61 inputs): halves until it stands alone
    assert result.calls == (batches if crm == "salesforce" else batches + 2 * 6)
    if crm == "salesforce":
        assert "INVALID_CROSS_REFERENCE_KEY" in result.failed["vs-key-9999"]
        sf = salesforce_client(site.server.url)
        rows = sf.query_all("SELECT Id, WhatId, OwnerId, Priority, Status FROM Task")["records"]
        assert len(rows) == len(accounts)
        assert {r["Priority"] for r in rows} == {"High"}
        assert all(r["OwnerId"] == accounts[r["WhatId"]]["OwnerId"] for r in rows)
    else:
        hs = hubspot_client(site.server.url)
        task_id = result.created["vs-key-0000"]
        got = hs.crm.objects.basic_api.get_by_id(
            "tasks",
            task_id,
            properties=["hs_task_subject", "hubspot_owner_id", "hs_timestamp", "hs_task_priority"],
            associations=["companies"],
        )
        first = sorted(accounts)[0]
        assert got.properties["hs_task_priority"] == "HIGH"
        assert got.properties["hubspot_owner_id"] == str(accounts[first]["hubspot_owner_id"])
        assert [a.id for a in got.associations["companies"].results] == [first]


def test_hubspot_refuses_a_task_without_a_due_time(make_site: Callable[..., Site]) -> None:
    from hubspot.crm.objects.tasks.exceptions import ApiException

    site = make_site("hubspot", accounts=5, provision=False)
    api = hubspot_client(site.server.url).crm.objects.tasks.batch_api
    with pytest.raises(ApiException) as err:
        api.create({"inputs": [{"properties": {"hs_task_subject": "x"}}]})
    assert err.value.status == 400 and "hs_timestamp" in str(err.value.body)
