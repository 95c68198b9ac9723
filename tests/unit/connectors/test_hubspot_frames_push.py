"""Typed canonical frames from HubSpot strings; wire values, de-duplication, error parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.hubspot.client import property_errors
from connectors.hubspot.frames import to_frame
from connectors.hubspot.pull import Record, companies_by_child, modified_property, primary_company
from connectors.hubspot.push import Input, _suspects, inputs_from, wire_value
from mappings.crm import load_crm_mapping, shipped_mapping
from mappings.errors import ValidationRejected

MAPPING = load_crm_mapping(shipped_mapping("hubspot"))


def test_strings_become_typed_canonical_columns_with_value_maps():
    om = MAPPING.table("tickets")
    records = [
        Record("7", {"hs_object_id": "7", "createdate": "2024-02-01T10:00:00.123Z",
                     "closed_date": "1706781600000", "hs_ticket_priority": "URGENT",
                     "escalated": "true", "hs_ticket_category": "SPECIAL_REQUEST",
                     "effort_hours": "2.5", "hs_lastmodifieddate": "2024-02-01T10:00:00Z"}),
        Record("8", {"hs_object_id": None, "createdate": "2024-02-02T00:00:00Z",
                     "closed_date": None, "hs_ticket_priority": "ODD", "escalated": "false",
                     "hs_ticket_category": None, "effort_hours": "", "hs_lastmodifieddate": None}),
    ]  # fmt: skip
    frame = to_frame("tickets", om, records, list(om.fields.values()), {"7": "512"})

    assert frame["ticket_id"].tolist() == ["7", "8"]
    assert frame["account_id"].tolist()[0] == "512" and pd.isna(frame["account_id"][1])
    assert frame["priority"].tolist() == ["urgent", "ODD"]  # unmapped values pass through
    assert frame["category"][0] == "special_request"
    assert frame["is_escalation"].tolist() == [True, False]
    assert frame["effort_hours"][0] == 2.5 and pd.isna(frame["effort_hours"][1])
    assert frame["closed_at"][0] == pd.Timestamp("2024-02-01T10:00:00Z")
    assert frame["created_at"][0] == pd.Timestamp("2024-02-01T10:00:00.123Z")
    assert str(frame["created_at"].dtype) == "datetime64[us, UTC]"


def test_unmapped_requested_properties_keep_their_name_as_strings():
    om = MAPPING.table("accounts")
    records = [Record("1", {"hs_object_id": "1", "valuesync_value_score": "12.5"})]
    frame = to_frame("accounts", om, records, ["hs_object_id", "valuesync_value_score"])
    assert frame.columns.tolist() == ["account_id", "valuesync_value_score"]
    assert frame["valuesync_value_score"][0] == "12.5"


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (None, None), (float("nan"), None), (pd.NA, None), (pd.NaT, None),
        (True, "true"), (12.0, "12"), (12.5, "12.5"), (7, "7"), ("Core", "Core"),
        (date(2024, 5, 1), "2024-05-01"),
        (datetime(2024, 5, 1, tzinfo=UTC), "1714521600000"),
        (pd.Timestamp("2024-05-01"), "1714521600000"),
    ],
    ids=["none", "nan", "na", "nat", "bool", "int-float", "float", "int", "str", "date",
         "datetime", "naive-timestamp"],
)  # fmt: skip
def test_wire_values(value, wire):
    assert wire_value(value) == wire


def test_inputs_are_deduplicated_and_only_changed_properties_kept():
    inputs = inputs_from(
        ["1", "2", "1", None],
        {"p": ["a", "b", "c", "d"], "q": [None, "x", "y", None]},
        {"2": {"p": "b", "q": "x"}},
    )
    assert inputs == [Input("1", {"p": "c", "q": "y"})]


@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from(["x", "y", None])), max_size=30))
def test_no_id_is_ever_sent_twice(rows):
    inputs = inputs_from([r[0] for r in rows], {"p": [r[1] for r in rows]}, {})
    assert len({i.id for i in inputs}) == len(inputs)
    assert all(i.properties for i in inputs)


HUBSPOT_400 = (
    'Property values were not valid: [{"isValid":false,"message":"Platinum was not one of the '
    'allowed options: [Core, Develop]","error":"INVALID_OPTION","name":"valuesync_value_quadrant"}]'
)


def test_property_errors_are_parsed_from_the_validation_message():
    [err] = property_errors(HUBSPOT_400)
    assert (err.name, err.error) == ("valuesync_value_quadrant", "INVALID_OPTION")
    assert property_errors("Something else entirely") == []


def test_the_input_whose_value_is_quoted_is_the_suspect():
    batch = [Input(str(i), {"valuesync_value_quadrant": "Core"}) for i in range(5)]
    batch[3] = Input("3", {"valuesync_value_quadrant": "Platinum"})
    exc = ValidationRejected(HUBSPOT_400, errors=property_errors(HUBSPOT_400))
    [suspect] = _suspects(batch, exc.errors)
    assert suspect.input.id == "3" and suspect.matched_value


def test_primary_company_wins_else_the_lowest_id():
    assert primary_company([("30", False), ("12", True)]) == "12"
    assert primary_company([("30", False), ("4", False)]) == "4"
    assert primary_company([]) is None
    assert companies_by_child({"1": [("d1", False)], "2": [("d1", True), ("d2", False)]}) == {
        "d1": "2",
        "d2": "2",
    }


@pytest.mark.parametrize(
    ("object_type", "expected"),
    [
        ("companies", "hs_lastmodifieddate"),
        ("deals", "hs_lastmodifieddate"),
        ("invoices", "hs_lastmodifieddate"),
        ("contacts", "lastmodifieddate"),
    ],
    ids=["companies", "deals", "invoices", "contacts"],
)
def test_each_object_has_its_modified_property(object_type, expected):
    assert modified_property(object_type) == expected


def test_an_unreadable_advocacy_signal_sets_its_company_aside_and_value_maps_apply():
    from connectors.hubspot.frames import checked_frame
    from mappings.crm import ObjectMapping

    om = ObjectMapping(
        object="companies",
        fields={"account_id": "hs_object_id", "name": "name", "referrals": "referral_count",
                "reference_customer": "is_reference"},
        values={"reference_customer": {"Ja": "yes", "Nein": "no"}},
    )  # fmt: skip
    props = ["hs_object_id", "name", "referral_count", "is_reference"]
    records = [
        Record("1", {"hs_object_id": "1", "name": "A", "referral_count": "2",
                     "is_reference": "Ja"}),
        Record("2", {"hs_object_id": "2", "name": "B", "referral_count": "several",
                     "is_reference": "Nein"}),
        Record("3", {"hs_object_id": "3", "name": "C", "referral_count": None,
                     "is_reference": "Vielleicht"}),
    ]  # fmt: skip
    frame, rejected = checked_frame("accounts", om, records, props)
    assert frame["account_id"].tolist() == ["1"]
    assert frame["reference_customer"].tolist() == ["yes"]  # mapped, as the engine reads it
    got = rejected.sort_values("record_id")[["record_id", "field", "value", "code"]]
    assert got.values.tolist() == [
        ["2", "referral_count", "several", "UNREADABLE_VALUE"],
        ["3", "is_reference", "Vielleicht", "UNREADABLE_VALUE"],
    ]
    assert "objects.accounts.values.reference_customer" in rejected["message"].iloc[-1]
