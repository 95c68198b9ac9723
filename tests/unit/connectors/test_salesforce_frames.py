"""Typing REST and Bulk records identically, the push frame contract, transport helpers."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from connectors.base import Cursor, FieldInfo, ObjectSchema
from connectors.salesforce.frames import from_csv, from_rest, typed_frame
from connectors.salesforce.pull import _max_cursor
from connectors.salesforce.push import CLEAR, PARENT_COLUMN, bulk_csv, parse_bulk_error, to_records
from connectors.salesforce.transport import SalesforceTransport, classify
from mappings.errors import ConfigError, QuotaError

TYPES = {"Id": "id", "Amount": "currency", "Seats": "int", "Won": "boolean", "Close": "date",
         "Stamp": "datetime", "Name": "string"}  # fmt: skip
SCHEMA = ObjectSchema(
    "Opportunity", {n: FieldInfo(n, t, updateable=n != "Id") for n, t in TYPES.items()}
)
FIELDS = list(TYPES)
REST = [
    {"attributes": {"type": "Opportunity"}, "Id": "006A", "Amount": 10.5, "Seats": 3, "Won": True,
     "Close": "2024-05-01", "Stamp": "2024-05-01T12:00:00.000+0000", "Name": "A, \"q\""},
    {"attributes": {"type": "Opportunity"}, "Id": "006B", "Amount": None, "Seats": None,
     "Won": False, "Close": None, "Stamp": "2024-05-01T12:00:01.250+0000", "Name": None},
]  # fmt: skip
CSV = (
    '"Id","Amount","Seats","Won","Close","Stamp","Name"\n'
    '"006A","10.5","3","true","2024-05-01","2024-05-01T12:00:00.000+0000","A, ""q"""\n'
    '"006B","","","false","","2024-05-01T12:00:01.250+0000",""\n'
)


def test_rest_and_csv_give_identical_typed_frames():
    a = typed_frame(from_rest(REST, FIELDS), SCHEMA, FIELDS)
    b = typed_frame(from_csv(CSV, FIELDS), SCHEMA, FIELDS)
    pd.testing.assert_frame_equal(a, b)
    assert [str(t) for t in a.dtypes] == [
        "string", "Float64", "Int64", "boolean", "datetime64[us]", "datetime64[us, UTC]", "string",
    ]  # fmt: skip
    assert a["Amount"].isna().tolist() == [False, True] and a["Name"].iloc[0] == 'A, "q"'


def test_push_frame_contract_na_unchanged_clear_nulls_parent_orders():
    changes = pd.DataFrame(
        {"Id": ["006B", "006A", "006C"], "Amount": [np.nan, 5.0, np.nan],
         "Name": [CLEAR, None, None], PARENT_COLUMN: ["001Z", "001A", "001A"]}
    )  # fmt: skip
    assert to_records(SCHEMA, changes) == [
        {"Id": "006A", "Amount": 5.0},
        {"Id": "006B", "Name": None},
    ]
    with pytest.raises(ConfigError, match="not an updateable field"):
        to_records(SCHEMA, pd.DataFrame({"Id": ["x"], "Nope": [1]}))


def test_bulk_csv_leaves_unchanged_cells_empty_and_clears_with_na():
    text = bulk_csv(
        [{"Id": "1", "Amount": 5.0}, {"Id": "2", "Name": None}, {"Id": "3", "Won": True}]
    )
    assert text == "Id,Amount,Name,Won\n1,5.0,,\n2,,#N/A,\n3,,,true\n"


BULK_ERRORS = {
    "lock": ("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access:--",
             ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access", [])),
    "required": ("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
                 ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"])),
    "deleted": ("ENTITY_IS_DELETED:entity is deleted:--",
                ("ENTITY_IS_DELETED", "entity is deleted", [])),
}  # fmt: skip


@pytest.mark.parametrize("text, expected", list(BULK_ERRORS.values()), ids=list(BULK_ERRORS))
def test_parse_bulk_error(text, expected):
    assert parse_bulk_error(text) == expected


@pytest.mark.parametrize(
    "url, kind",
    [
        ("https://x/services/oauth2/token", "login"),
        ("https://x/services/Soap/u/59.0", "login"),
        ("https://x/services/data/v59.0/query/?q=SELECT", "query"),
        ("https://x/services/data/v59.0/queryAll/", "query"),
        ("https://x/services/data/v59.0/query/01g-2000", "query_more"),
        ("https://x/services/data/v59.0/jobs/query/750/results", "bulk_query"),
        ("https://x/services/data/v59.0/jobs/ingest/750/batches", "bulk_ingest"),
        ("https://x/services/data/v59.0/composite/sobjects", "collections"),
        ("https://x/services/data/v59.0/sobjects/Account/describe", "describe"),
        ("https://x/services/data/v59.0/tooling/sobjects/CustomField", "tooling"),
        ("https://x/services/data/v59.0/limits/", "limits"),
        ("https://x/services/data/v59.0/sobjects/FieldPermissions", "rest"),
    ],
)
def test_classify(url, kind):
    assert classify("GET", url) == kind


def test_transport_maps_only_configured_origins():
    t = SalesforceTransport()
    t.add_route("https://login.salesforce.com", "http://127.0.0.1:9")
    assert (
        t.map_url("https://login.salesforce.com/services/oauth2/token")
        == "http://127.0.0.1:9/services/oauth2/token"
    )
    assert t.map_url("https://evil.example/x") == "https://evil.example/x"


def test_reserve_arithmetic_and_message():
    t = SalesforceTransport(reserve_share=0.2)
    t.require(10**6, "unknown usage never blocks")
    t.used, t.limit = 780, 1000
    t.require(20, "fits exactly")
    with pytest.raises(
        QuotaError, match=r"needs about 21 API call\(s\).*220 of 1000.*reserve is 200"
    ):
        t.require(21, "push")


def test_max_cursor_is_the_latest_instant_and_the_largest_id_among_its_rows():
    stamps = pd.to_datetime(
        [
            "2024-05-01T12:00:02.000+0000",
            None,
            "2024-05-01T12:00:01.500+0000",
            "2024-05-01T12:00:02.000+0000",
            "2024-05-01T10:00:02.000-0300",  # 13:00:02 UTC: the latest
            "2024-05-01T13:00:02.000+0000",
        ],
        utc=True,
        format="ISO8601",
    )
    frame = pd.DataFrame({"Id": ["006C", "006Z", "006B", "006A", "006Y", "006D"], "Stamp": stamps})
    got = _max_cursor(frame, "Stamp")
    assert got == Cursor(datetime(2024, 5, 1, 13, 0, 2, tzinfo=UTC), "006Y")
    assert _max_cursor(frame.iloc[:0], "Stamp") is None
    assert _max_cursor(frame.iloc[[1]], "Stamp") is None  # no stamp at all: no cursor


def test_an_unreadable_advocacy_signal_is_a_rejected_row_naming_the_value_map_key():
    from connectors.salesforce.frames import Column, unmapped

    raw = pd.DataFrame(
        {"Id": ["001A", "001B", "001C"], "Referrals__c": ["2", "some", None],
         "Reference__c": ["Ja", "true", "kaum"]}
    )  # fmt: skip
    columns = [
        Column("Referrals__c", "referrals"),
        Column("Reference__c", "reference_customer", {"Ja": "yes"}),
    ]
    got = unmapped(raw, columns, "accounts")
    rows = zip(got["record_id"], got["field"], got["value"], got["code"], strict=True)
    assert sorted(rows) == [
        ("001B", "Referrals__c", "some", "UNREADABLE_VALUE"),
        ("001C", "Reference__c", "kaum", "UNREADABLE_VALUE"),
    ]
    assert unmapped(raw, columns, "tickets").empty  # only accounts carry signals
