"""Associations v4 through hubspot-api-client: batch read paging, get_page, create.

See docs/crm-wire.md §B8.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.associations.v4.exceptions import ApiException

from connectors.sandbox.clients import hubspot_client
from connectors.sandbox.hubspot.schema import new_portal_store, portal_data
from connectors.sandbox.server import SandboxServer

COMPANY_DEALS = 1_200


def batch_read(hs: Any, frm: str, to: str, inputs: list[dict[str, str]]) -> Any:
    body = BatchInputPublicFetchAssociationsBatchRequest(inputs=inputs)
    return hs.crm.associations.v4.batch_api.get_page(frm, to, body)


@pytest.fixture
def crowded(make_sandbox: Callable[..., SandboxServer]) -> Any:
    """A portal where company 1 has 1,200 deals and company 2 has 150."""
    store = new_portal_store()
    t = datetime(2024, 1, 1, tzinfo=UTC)
    store.insert_many("companies", [{"name": "Big", "createdate": t}, {"name": "Mid"}])
    deal_ids = store.insert_many("deals", ({"dealname": f"D{i}"} for i in range(COMPANY_DEALS)))
    links = portal_data(store).associations
    for i, deal_id in enumerate(deal_ids):
        links.add("deals", deal_id, "companies", "1")
        if i < 150:
            links.add("deals", deal_id, "companies", "2")
    return hubspot_client(make_sandbox(hs_store=store).url)


def test_batch_read_pages_past_100_and_500_returning_each_deal_once(crowded: Any) -> None:
    seen: dict[str, list[str]] = {"1": [], "2": []}
    pending = [{"id": "1"}, {"id": "2"}]
    calls = 0
    while pending:
        calls += 1
        resp = batch_read(crowded, "companies", "deals", pending)
        pending = []
        for result in resp.results:
            seen[result._from.id] += [t.to_object_id for t in result.to]
            if result.paging is not None:
                pending.append({"id": result._from.id, "after": result.paging.next.after})
    assert calls == 3
    assert seen["1"] == [str(i) for i in range(1, COMPANY_DEALS + 1)]
    assert seen["2"] == [str(i) for i in range(1, 151)]


def test_association_types_and_primary(hs: Any) -> None:
    resp = batch_read(hs, "deals", "companies", [{"id": "1"}])
    assert type(resp).__name__ == "BatchResponsePublicAssociationMultiWithLabel"
    to = resp.results[0].to[0]
    assert to.to_object_id == "1"
    types = {(a.category, a.type_id, a.label) for a in to.association_types}
    assert types == {("HUBSPOT_DEFINED", 5, "Primary"), ("HUBSPOT_DEFINED", 341, None)}


def test_to_object_id_is_a_json_number(raw: Any) -> None:
    body = raw(
        "POST", "/crm/v4/associations/deals/companies/batch/read", json={"inputs": [{"id": "1"}]}
    )
    assert body.status_code == 200
    assert body.json()["results"][0]["to"][0]["toObjectId"] == 1


def test_inputs_without_associations_are_207_errors(hs: Any) -> None:
    resp = batch_read(hs, "companies", "deals", [{"id": "1"}, {"id": "20"}])
    assert type(resp).__name__ == "BatchResponsePublicAssociationMultiWithLabelWithErrors"
    assert [r._from.id for r in resp.results] == ["1"]
    assert resp.num_errors == 1
    assert resp.errors[0].category == "OBJECT_NOT_FOUND"
    assert resp.errors[0].context == {"fromObjectId": ["20"]}


def test_more_than_1000_inputs_is_400(hs: Any) -> None:
    with pytest.raises(ApiException) as exc:
        batch_read(hs, "companies", "deals", [{"id": str(i)} for i in range(1001)])
    assert exc.value.status == 400


def test_basic_get_page_pages_with_limit(crowded: Any) -> None:
    api = crowded.crm.associations.v4.basic_api
    ids: list[str] = []
    after = None
    while True:
        page = api.get_page("companies", "1", "deals", limit=500, after=after)
        ids += [r.to_object_id for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(ids) == len(set(ids)) == COMPANY_DEALS


def test_create_default_links_both_ways(hs: Any) -> None:
    resp = hs.crm.associations.v4.basic_api.create_default("tickets", "3", "companies", "7")
    assert resp.results[0].association_spec.association_type_id == 339
    back = batch_read(hs, "companies", "tickets", [{"id": "7"}])
    assert [t.to_object_id for t in back.results[0].to] == ["3"]
    assert {a.type_id for a in back.results[0].to[0].association_types} == {25, 340}


def test_create_labelled_is_201_and_archive_removes(hs: Any) -> None:
    from hubspot.crm.associations.v4 import AssociationSpec

    spec = [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=179)]
    made = hs.crm.associations.v4.basic_api.create("invoices", "2", "companies", "3", spec)
    assert made.to_object_id == "3" and made.from_object_type_id == "0-53"
    hs.crm.associations.v4.basic_api.archive("invoices", "2", "companies", "3")
    resp = batch_read(hs, "invoices", "companies", [{"id": "2"}])
    assert resp.num_errors == 1


def test_create_default_to_missing_record_is_404(hs: Any) -> None:
    from hubspot.crm.associations.v4.exceptions import NotFoundException

    with pytest.raises(NotFoundException):
        hs.crm.associations.v4.basic_api.create_default("deals", "1", "companies", "999")
