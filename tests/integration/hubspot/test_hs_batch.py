"""CRM v3 batch endpoints through hubspot-api-client: exact status codes.

See docs/crm-wire.md §B3, §B5, §B6.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.companies.exceptions import ApiException


def update_batch(hs: Any, rows: list[tuple[str, dict[str, str]]]) -> Any:
    inputs = [SimplePublicObjectBatchInput(id=i, properties=p) for i, p in rows]
    return hs.crm.companies.batch_api.update(BatchInputSimplePublicObjectBatchInput(inputs=inputs))


def read_batch(hs: Any, ids: list[str], **kw: Any) -> Any:
    body = BatchReadInputSimplePublicObjectId(
        inputs=[{"id": i} for i in ids], properties=["name"], properties_with_history=[], **kw
    )
    return hs.crm.companies.batch_api.read(body)


def test_batch_read_all_found_is_200(hs: Any) -> None:
    resp = read_batch(hs, ["1", "2", "3"])
    assert type(resp).__name__ == "BatchResponseSimplePublicObject"
    assert sorted(r.id for r in resp.results) == ["1", "2", "3"]
    assert resp.results[0].properties["name"].startswith("Company")


def test_batch_read_with_missing_ids_is_207(hs: Any) -> None:
    resp = read_batch(hs, ["1", "998", "999"])
    assert type(resp).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert [r.id for r in resp.results] == ["1"]
    assert resp.num_errors == 1
    assert resp.errors[0].category == "OBJECT_NOT_FOUND"
    assert resp.errors[0].context == {"ids": ["998", "999"]}


def test_batch_read_by_id_property(hs: Any) -> None:
    resp = read_batch(hs, ["ERP-1003"], id_property="erp_customer_id")
    assert [r.id for r in resp.results] == ["4"]


def test_batch_update_success_is_200_and_stamps_increase(hs: Any) -> None:
    resp = update_batch(hs, [("1", {"name": "A"}), ("2", {"industry": "RETAIL"})])
    assert type(resp).__name__ == "BatchResponseSimplePublicObject"
    assert resp.status == "COMPLETE"
    by_id = {r.id: r for r in resp.results}
    assert by_id["1"].properties["name"] == "A"
    assert by_id["2"].properties["industry"] == "RETAIL"
    assert by_id["1"].updated_at < by_id["2"].updated_at


def test_batch_update_partial_is_207_with_errors(hs: Any) -> None:
    resp = update_batch(hs, [("1", {"name": "A"}), ("999", {"name": "B"})])
    assert type(resp).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert resp.num_errors == 1
    assert resp.errors[0].category == "OBJECT_NOT_FOUND"
    assert resp.errors[0].context == {"ids": ["999"]}
    assert [r.id for r in resp.results] == ["1"]
    assert hs.crm.companies.basic_api.get_by_id("1").properties["name"] == "A"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [("1", {"name": "ok"}), ("2", {"industry": "NOT_AN_INDUSTRY"})],
            "INVALID_OPTION",
            id="invalid-enumeration-option",
        ),
        pytest.param([("1", {"no_such_prop": "x"})], "PROPERTY_DOESNT_EXIST", id="unknown-prop"),
        pytest.param([("1", {"numberofemployees": "many"})], "INVALID_DECIMAL", id="bad-number"),
        pytest.param([("1", {"hs_object_id": "5"})], "READ_ONLY_VALUE", id="read-only"),
        pytest.param([("1", {"name": "a"}), ("1", {"name": "b"})], "Duplicate IDs", id="dup-ids"),
    ],
)
def test_invalid_input_rejects_whole_batch_with_400(
    hs: Any, rows: list[tuple[str, dict[str, str]]], expected: str
) -> None:
    with pytest.raises(ApiException) as exc:
        update_batch(hs, rows)
    assert exc.value.status == 400
    body = json.loads(exc.value.body)
    assert body["category"] == "VALIDATION_ERROR" and expected in body["message"]
    assert hs.crm.companies.basic_api.get_by_id("1").properties["name"] == "Company 00"


def test_more_than_100_inputs_is_400(hs: Any) -> None:
    with pytest.raises(ApiException) as exc:
        update_batch(hs, [(str(i), {"name": "x"}) for i in range(1, 102)])
    assert exc.value.status == 400
    with pytest.raises(ApiException) as exc:
        read_batch(hs, [str(i) for i in range(1, 102)])
    assert exc.value.status == 400


def test_exactly_100_inputs_is_accepted(hs: Any) -> None:
    resp = read_batch(hs, [str(i) for i in range(1, 101)])
    assert len(resp.results) == 24 and resp.num_errors == 1


def test_batch_create_is_201_and_records_are_listed(hs: Any, seed: dict[str, int]) -> None:
    inputs = [SimplePublicObjectInputForCreate(properties={"name": f"New {i}"}) for i in range(3)]
    resp = hs.crm.companies.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
    )
    assert type(resp).__name__ == "BatchResponseSimplePublicObject"
    assert [r.properties["name"] for r in resp.results] == ["New 0", "New 1", "New 2"]
    assert len(hs.crm.companies.get_all()) == seed["live_companies"] + 3


def test_batch_archive_is_204(hs: Any, seed: dict[str, int]) -> None:
    from hubspot.crm.companies import BatchInputSimplePublicObjectId

    result = hs.crm.companies.batch_api.archive(
        BatchInputSimplePublicObjectId(inputs=[{"id": "1"}, {"id": "2"}])
    )
    assert result is None
    assert len(hs.crm.companies.get_all()) == seed["live_companies"] - 2
