"""sObject Collections update (PATCH /composite/sobjects) through simple-salesforce.

See docs/crm-wire.md §A6.
"""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.sandbox.server import SandboxServer


def _rec(rid: str | None, sobject: str = "Account", **fields: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"attributes": {"type": sobject}, **fields}
    if rid is not None:
        rec["id"] = rid
    return rec


def _patch(
    sf: Any, records: list[dict[str, Any]], all_or_none: bool = False
) -> list[dict[str, Any]]:
    body = {"allOrNone": all_or_none, "records": records}
    return sf.restful("composite/sobjects", method="PATCH", json=body)


def _codes(results: list[dict[str, Any]]) -> list[str | None]:
    return [None if r["success"] else r["errors"][0]["statusCode"] for r in results]


@pytest.fixture
def mixed(sf_server: SandboxServer, live_ids: list[str], deleted_ids: list[str]) -> list[dict]:
    """Six updates: good, bad restricted picklist, read-only field, deleted, rejected, good."""
    sf_server.faults.configure(reject_ids=frozenset({live_ids[4]}))
    return [
        _rec(live_ids[0], Industry="Energy"),
        {
            "attributes": {"type": "Opportunity"},
            "id": _an_opportunity(sf_server),
            "StageName": "Won?",
        },
        _rec(live_ids[2], IsDeleted=True),
        _rec(deleted_ids[0], Name="ghost"),
        _rec(live_ids[4], Name="guarded"),
        _rec(live_ids[5], NumberOfEmployees=7),
    ]


def _an_opportunity(server: SandboxServer) -> str:
    return next(iter(server.sf.store.table("Opportunity").records))


EXPECTED_CODES = [
    None,
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    "INVALID_FIELD_FOR_INSERT_UPDATE",
    "ENTITY_IS_DELETED",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    None,
]


def test_partial_failure_reports_each_record_in_order(
    sf: Any, sf_server: SandboxServer, mixed: list[dict], live_ids: list[str]
) -> None:
    results = _patch(sf, mixed)

    assert _codes(results) == EXPECTED_CODES
    assert results[0] == {"id": live_ids[0], "success": True, "errors": []}
    assert all("id" not in r for r in results if not r["success"])
    assert "bad value for restricted picklist field: Won?" in results[1]["errors"][0]["message"]
    assert results[2]["errors"][0]["fields"] == ["IsDeleted"]
    accounts = sf_server.sf.store.table("Account").records
    assert accounts[live_ids[0]]["Industry"] == "Energy"
    assert accounts[live_ids[5]]["NumberOfEmployees"] == 7
    assert accounts[live_ids[4]]["Name"] != "guarded"


def test_all_or_none_rolls_everything_back(
    sf: Any, sf_server: SandboxServer, mixed: list[dict], live_ids: list[str]
) -> None:
    before = dict(sf_server.sf.store.table("Account").records[live_ids[0]])

    results = _patch(sf, mixed, all_or_none=True)

    rolled = [
        r["errors"][0]["statusCode"] for i, r in enumerate(results) if EXPECTED_CODES[i] is None
    ]
    assert rolled == ["ALL_OR_NONE_OPERATION_ROLLED_BACK"] * 2
    assert _codes(results)[1:5] == EXPECTED_CODES[1:5]
    assert not any(r["success"] for r in results)
    assert sf_server.sf.store.table("Account").records[live_ids[0]] == before


def test_all_or_none_commits_when_all_valid(
    sf: Any, sf_server: SandboxServer, live_ids: list[str]
) -> None:
    results = _patch(sf, [_rec(i, Type="Prospect") for i in live_ids[:3]], all_or_none=True)
    assert [r["success"] for r in results] == [True, True, True]
    assert {sf_server.sf.store.table("Account").records[i]["Type"] for i in live_ids[:3]} == {
        "Prospect"
    }


def test_successful_update_bumps_stamps(
    sf: Any, sf_server: SandboxServer, live_ids: list[str]
) -> None:
    rec = sf_server.sf.store.table("Account").records[live_ids[0]]
    old = rec["SystemModstamp"]
    _patch(sf, [_rec(live_ids[0], Website="new.example.com")])
    assert rec["SystemModstamp"] > old
    assert rec["LastModifiedDate"] == rec["SystemModstamp"]


@pytest.mark.parametrize(
    ("record", "code"),
    [
        (_rec("001999999999999AAA", Name="x"), "INVALID_CROSS_REFERENCE_KEY"),
        (_rec("not-an-id", Name="x"), "MALFORMED_ID"),
        (_rec("006000000000001AAA", Name="x"), "MALFORMED_ID"),
        (_rec(None, Name="x"), "MISSING_ARGUMENT"),
        (_rec("001000000000001AAA", "Nope__c"), "INVALID_TYPE"),
    ],
    ids=["unknown-id", "malformed-id", "wrong-prefix", "missing-id", "unknown-type"],
)
def test_bad_ids_and_types(sf: Any, record: dict, code: str) -> None:
    assert _codes(_patch(sf, [record])) == [code]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"Foo__c": "x"}, "INVALID_FIELD"),
        ({"Days_Since_Last_Activity__c": 3}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"AnnualRevenue": "lots"}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ({"OwnerId": "bad id"}, "MALFORMED_ID"),
    ],
    ids=["unknown-field", "formula-field", "bad-currency", "bad-reference"],
)
def test_bad_fields(sf: Any, live_ids: list[str], fields: dict, code: str) -> None:
    results = _patch(sf, [_rec(live_ids[0], **fields)])
    assert _codes(results) == [code]
    if code == "INVALID_FIELD":
        assert (
            results[0]["errors"][0]["message"]
            == "No such column 'Foo__c' on sobject of type Account"
        )


def test_more_than_200_records_is_exceeded_id_limit(sf: Any, live_ids: list[str]) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        _patch(sf, [_rec(live_ids[0], Name="x")] * 201)
    assert err.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_exactly_200_records_is_accepted(sf: Any, live_ids: list[str]) -> None:
    assert len(_patch(sf, [_rec(live_ids[i % len(live_ids)], Name="x") for i in range(200)])) == 200


def test_values_are_stored_typed(sf: Any, sf_server: SandboxServer) -> None:
    opp = _an_opportunity(sf_server)
    results = _patch(
        sf,
        [
            {
                "attributes": {"type": "Opportunity"},
                "id": opp,
                "CloseDate": "2025-01-31",
                "Amount": "99.5",
            }
        ],
    )
    assert results[0]["success"]
    rec = sf_server.sf.store.table("Opportunity").records[opp]
    assert (rec["CloseDate"].isoformat(), rec["Amount"]) == ("2025-01-31", 99.5)
