"""Search answered from the stamp index is byte-for-byte what the general path answers.

Over loopback HTTP: writes go through hubspot-api-client (batch update, batch create,
archive); each search body is then sent twice, as is (a window query, which the stamp
index answers) and with its filter group repeated (OR of two equal groups: the same
matches, but the general filter-and-sort path answers it). The JSON bodies must match.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hubspot.crm.deals import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects import BatchInputSimplePublicObjectBatchInput

STAMP = "hs_lastmodifieddate"
BASE_TIME = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
"""conftest.BASE_TIME: the seeded deals are stamped BASE_TIME + 100..139 minutes."""


def ms(t: datetime) -> str:
    return str(int(t.timestamp() * 1000))


def window(lo: datetime, hi: datetime, op: str = "GTE") -> list[dict[str, str]]:
    return [
        {"propertyName": STAMP, "operator": op, "value": ms(lo)},
        {"propertyName": STAMP, "operator": "LT", "value": ms(hi)},
    ]


def both(raw: Any, object_type: str, body: dict[str, Any]) -> tuple[Any, Any]:
    """(fast answer, general answer) of one search body."""
    path = f"/crm/v3/objects/{object_type}/search"
    fast = raw("POST", path, json=body)
    doubled = body | {"filterGroups": body["filterGroups"] * 2}
    general = raw("POST", path, json=doubled)
    assert fast.status_code == general.status_code == 200
    return fast.json(), general.json()


def test_windows_after_writes_answer_what_the_general_path_answers(hs: Any, raw: Any) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    everything = {"filterGroups": [{"filters": window(BASE_TIME, later)}], "sorts": [STAMP]}
    fast, general = both(raw, "deals", everything | {"limit": 5})  # builds the index
    assert fast == general and fast["total"] == 40

    batch = hs.crm.objects.batch_api
    updates = [{"id": str(i), "properties": {"amount": "7"}} for i in (3, 9, 17, 30, 31)]
    batch.update("deals", BatchInputSimplePublicObjectBatchInput(inputs=updates))
    new = [SimplePublicObjectInputForCreate(properties={"dealname": "New deal"})]
    hs.crm.deals.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=new))
    hs.crm.deals.basic_api.archive("12")

    shared = raw("GET", "/crm/v3/objects/deals/3").json()["properties"][STAMP]
    shared_t = datetime.fromisoformat(shared.replace("Z", "+00:00"))
    bodies = [
        everything | {"limit": 200},
        everything | {"limit": 7, "after": "14"},
        {"filterGroups": [{"filters": window(BASE_TIME, BASE_TIME + timedelta(minutes=115))}]}
        | {"sorts": [{"propertyName": STAMP, "direction": "ASCENDING"}], "limit": 4},
        {"filterGroups": [{"filters": window(shared_t, later, "GT")}], "sorts": [STAMP]},
        {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": STAMP, "operator": "EQ", "value": ms(shared_t)},
                        {"propertyName": "hs_object_id", "operator": "GT", "value": "0"},
                    ]
                }
            ],
            "sorts": ["hs_object_id"],
            "properties": ["amount", "dealname"],
        },
    ]
    for body in bodies:
        fast, general = both(raw, "deals", body)
        assert fast == general, body
    fast, _ = both(raw, "deals", bodies[0])
    ids = [r["id"] for r in fast["results"]]
    assert fast["total"] == 40 and "12" not in ids  # 40 seeded + 1 created - 1 archived
    assert ids[-6:-1] == ["3", "9", "17", "30", "31"]  # updated in this order, then created


def test_archiving_through_the_api_shows_in_the_archived_list(hs: Any) -> None:
    hs.crm.companies.basic_api.get_page(archived=True)  # builds the archived-id index
    hs.crm.companies.basic_api.archive("6")
    archived = hs.crm.companies.basic_api.get_page(archived=True)
    assert [r.id for r in archived.results] == ["6", "25"]  # the seed's last company, too
