"""SOQL building: names only from describe, every value escaped (no network)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import FieldInfo, ObjectSchema
from connectors.salesforce import soql

SCHEMA = ObjectSchema(
    "Account",
    {
        n: FieldInfo(n, t)
        for n, t in [("Id", "id"), ("Name", "string"), ("SystemModstamp", "datetime")]
    },
)
_UNESCAPE = {
    "\\\\": "\\",
    "\\'": "'",
    '\\"': '"',
    "\\n": "\n",
    "\\r": "\r",
    "\\t": "\t",
    "\\b": "\b",
    "\\f": "\f",
}


def unquote(literal: str) -> str:
    """Read a SOQL string literal back the way Salesforce does; fails on a bare quote."""
    assert literal[0] == literal[-1] == "'"
    body = literal[1:-1]
    assert not re.search(r"(?<!\\)(\\\\)*'", body), "an unescaped quote would end the literal"
    return re.sub(r"\\.", lambda m: _UNESCAPE[m.group(0)], body)


QUOTES = {
    "plain": ("Acme", "'Acme'"),
    "quote": ("O'Brien", "'O\\'Brien'"),
    "injection": ("' OR Name != '", "'\\' OR Name != \\''"),
    "backslash": ("a\\' OR 1=1", "'a\\\\\\' OR 1=1'"),
    "newline": ("a\nb", "'a\\nb'"),
    "true": (True, "true"),
    "none": (None, "null"),
    "int": (42, "42"),
    "float": (1.5, "1.5"),
    "date": (date(2024, 5, 1), "2024-05-01"),
    "datetime": (datetime(2024, 5, 1, 12, 0, 1, 999, tzinfo=UTC), "2024-05-01T12:00:01Z"),
}


@pytest.mark.parametrize("name", list(QUOTES))
def test_quote(name):
    value, expected = QUOTES[name]
    assert soql.quote(value) == expected


@pytest.mark.parametrize(
    "bad",
    [float("nan"), float("inf"), datetime(2024, 1, 1), object()],
    ids=["nan", "inf", "datetime", "object"],
)
def test_unquotable_values_are_refused(bad):
    with pytest.raises(soql.UnsafeSoqlError):
        soql.quote(bad)


@given(st.text())
def test_every_string_round_trips_and_cannot_break_out(text):
    assert unquote(soql.quote(text)) == text


@pytest.mark.parametrize(
    "name", ["Nope", "Name, Id", "Name FROM User --", "Id) OR (Name", "Name' OR '1'='1"]
)
def test_names_not_in_describe_never_reach_soql(name):
    with pytest.raises(soql.UnsafeSoqlError, match="not in the describe"):
        soql.select(SCHEMA, ["Id", name])
    with pytest.raises(soql.UnsafeSoqlError):
        soql.select(SCHEMA, ["Id"], [soql.Where(name, "=", "x")])


def test_select_uses_describe_spelling_and_escapes_values():
    text = soql.select(
        SCHEMA,
        ["id", "NAME", "Id"],
        [soql.Where("name", "=", "' OR Name != '"), soql.Where("Id", "IN", ["a'", "b"])],
        order_by=["systemmodstamp", "Id"],
        limit=5,
    )
    assert text == (
        "SELECT Id, Name FROM Account WHERE Name = '\\' OR Name != \\'' AND Id IN ('a\\'', 'b') "
        "ORDER BY SystemModstamp, Id LIMIT 5"
    )


def test_operators_are_a_fixed_set():
    with pytest.raises(soql.UnsafeSoqlError, match="operator"):
        soql.select(SCHEMA, ["Id"], [soql.Where("Name", "= 'x' OR Name !=", "y")])


def test_count():
    where = [soql.Where("SystemModstamp", ">=", datetime(2024, 5, 1, tzinfo=UTC))]
    assert soql.count(SCHEMA, where) == (
        "SELECT COUNT() FROM Account WHERE SystemModstamp >= 2024-05-01T00:00:00Z"
    )
