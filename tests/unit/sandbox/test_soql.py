"""The sandbox SOQL subset: every construct answers like Salesforce, or is refused.

Table-driven over a small fixed dataset; each case names the rows it expects (in order
when the query has ORDER BY) or the Salesforce error code it must raise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.salesforce.soql import SoqlError, compile_query
from connectors.sandbox.salesforce.soql_lex import escape_soql, tokenize
from connectors.sandbox.store import FieldDef, ObjectTable, Store


def _fields() -> list[FieldDef]:
    return [
        FieldDef("Id", "id"),
        FieldDef("IsDeleted", "boolean"),
        FieldDef("Name", "string"),
        FieldDef("Industry", "picklist", picklist=["Banking", "Retail", "Technology"]),
        FieldDef("NumberOfEmployees", "int"),
        FieldDef("AnnualRevenue", "currency"),
        FieldDef("CloseDate__c", "date"),
        FieldDef("LastSeen__c", "datetime"),
        FieldDef("Active__c", "boolean"),
        FieldDef("ParentId", "reference", reference_to=("Account",)),
        FieldDef("Secret__c", "string", visible=False),
    ]


def _dt(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


# Name, Industry, NumberOfEmployees, AnnualRevenue, CloseDate__c, LastSeen__c, Active__c
ROWS = [
    ("Acme", "Banking", 100, 1000.5, date(2024, 1, 31), _dt("2024-01-31T10:00:00"), True),
    ("acme labs", "Technology", 50, None, date(2024, 2, 15), _dt("2024-02-01T00:00:00"), False),
    ("O'Brien & Sons", None, 10, 200.0, None, None, True),
    (
        "Back\\slash Ltd",
        "Banking",
        None,
        5000.0,
        date(2023, 12, 31),
        _dt("2023-12-31T23:30:00"),
        False,
    ),
    ("50% Off_Shop", "Retail", 100, 0.0, date(2024, 1, 31), _dt("2024-01-31T09:59:59"), True),
    ("Zeta", None, 7, 300.0, date(2024, 3, 1), None, None),
    ("zeta", "Technology", 8, 300.0, date(2024, 3, 2), None, False),
    ("Line\nBreak", "Retail", 20, None, None, None, True),
]
DELETED = ("Deleted Co", "Banking", 100, 1.0, None, None, True)
LIVE = [r[0] for r in ROWS]


def make_store() -> Store:
    store = Store()
    table = store.add_table(ObjectTable("Account", _fields(), id_prefix="001"))
    cols = ("Name", "Industry", "NumberOfEmployees", "AnnualRevenue", "CloseDate__c",
            "LastSeen__c", "Active__c")  # fmt: skip
    for row in [*ROWS, DELETED]:
        rec = dict(zip(cols, row, strict=True))
        rec["_id"] = rec["Id"] = table.new_id()
        rec["IsDeleted"] = row is DELETED
        rec["Secret__c"] = "s"
        store.insert_many("Account", [rec])
    return store


STORE = make_store()


def names(soql: str, *, include_deleted: bool = False) -> list[str]:
    cq = compile_query(STORE, soql)
    return [r["Name"] for r in cq.run(STORE, include_deleted=include_deleted)]


Q = "SELECT Id, Name FROM Account WHERE "
CASES: list[tuple[str, str, list[str] | str]] = [
    # id, statement, expected names (ordered iff ORDER BY) or an error code
    ("all", "SELECT Id, Name FROM Account", LIVE),
    ("lowercase-everything", "select id, name from account", LIVE),
    ("eq-case-insensitive", Q + "Name = 'ACME'", ["Acme"]),
    ("ne-includes-null", Q + "Industry != 'Banking'",
     ["acme labs", "O'Brien & Sons", "50% Off_Shop", "Zeta", "zeta", "Line\nBreak"]),
    ("ltgt-is-ne", Q + "Industry <> 'banking'",
     ["acme labs", "O'Brien & Sons", "50% Off_Shop", "Zeta", "zeta", "Line\nBreak"]),
    ("eq-null", Q + "Industry = null", ["O'Brien & Sons", "Zeta"]),
    ("ne-null", Q + "Industry != NULL",
     ["Acme", "acme labs", "Back\\slash Ltd", "50% Off_Shop", "zeta", "Line\nBreak"]),
    ("escaped-quote", Q + "Name = 'O\\'Brien & Sons'", ["O'Brien & Sons"]),
    ("escaped-backslash", Q + "Name = 'Back\\\\slash Ltd'", ["Back\\slash Ltd"]),
    ("escaped-newline", Q + "Name = 'Line\\nBreak'", ["Line\nBreak"]),
    ("injection-stays-literal", Q + "Name = 'x\\' OR Name != \\'y'", []),
    ("like-prefix", Q + "Name LIKE 'acme%'", ["Acme", "acme labs"]),
    ("like-underscore", Q + "Name LIKE '_eta'", ["Zeta", "zeta"]),
    ("like-escaped-wildcards", Q + "Name LIKE '50\\% Off\\_Shop'", ["50% Off_Shop"]),
    ("like-escaped-underscore-inside", Q + "Name LIKE '%\\_%'", ["50% Off_Shop"]),
    ("like-percent-literal-is-wildcard", Q + "Name LIKE '50%'", ["50% Off_Shop"]),
    ("gt-number-skips-null", Q + "NumberOfEmployees > 50", ["Acme", "50% Off_Shop"]),
    ("ge-number", Q + "NumberOfEmployees >= 50", ["Acme", "acme labs", "50% Off_Shop"]),
    ("lt-number", Q + "NumberOfEmployees < 10", ["Zeta", "zeta"]),
    ("le-currency", Q + "AnnualRevenue <= 200", ["O'Brien & Sons", "50% Off_Shop"]),
    ("eq-decimal", Q + "AnnualRevenue = 1000.5", ["Acme"]),
    ("in-strings", Q + "Industry IN ('banking', 'Retail')",
     ["Acme", "Back\\slash Ltd", "50% Off_Shop", "Line\nBreak"]),
    ("not-in-includes-null", Q + "Industry NOT IN ('Banking', 'Technology')",
     ["O'Brien & Sons", "50% Off_Shop", "Zeta", "Line\nBreak"]),
    ("in-dates", Q + "CloseDate__c IN (2024-01-31, 2023-12-31)",
     ["Acme", "Back\\slash Ltd", "50% Off_Shop"]),
    ("gt-date", Q + "CloseDate__c > 2024-01-31", ["acme labs", "Zeta", "zeta"]),
    ("ge-datetime", Q + "LastSeen__c >= 2024-01-31T10:00:00Z", ["Acme", "acme labs"]),
    ("datetime-plus-offset", Q + "LastSeen__c = 2024-01-31T11:00:00+01:00", ["Acme"]),
    ("datetime-fraction-minus-hhmm", Q + "LastSeen__c < 2024-01-31T05:00:00.000-0500",
     ["Back\\slash Ltd", "50% Off_Shop"]),
    ("boolean-true", Q + "Active__c = true",
     ["Acme", "O'Brien & Sons", "50% Off_Shop", "Line\nBreak"]),
    ("boolean-null-is-false", Q + "Active__c = null",
     ["acme labs", "Back\\slash Ltd", "Zeta", "zeta"]),
    ("not-binds-tighter-than-and", Q + "NOT Industry = 'Banking' AND NumberOfEmployees > 20",
     ["acme labs", "50% Off_Shop"]),
    ("not-parenthesised", Q + "NOT (Industry = 'Banking' AND NumberOfEmployees > 20)",
     [n for n in LIVE if n != "Acme"]),
    ("or-in-parens-and",
     Q + "(Industry = 'Retail' OR Industry = 'Technology') AND NumberOfEmployees >= 20",
     ["acme labs", "50% Off_Shop", "Line\nBreak"]),
    ("three-way-or", Q + "Name = 'Zeta' OR Name = 'Acme' OR AnnualRevenue = 5000",
     ["Acme", "Back\\slash Ltd", "Zeta", "zeta"]),
    ("order-name-case-insensitive", "SELECT Name FROM Account WHERE Name LIKE '%a%' ORDER BY Name",
     ["Acme", "acme labs", "Back\\slash Ltd", "Line\nBreak", "Zeta", "zeta"]),
    ("order-default-nulls-first", "SELECT Name FROM Account ORDER BY Industry, Name",
     ["O'Brien & Sons", "Zeta", "Acme", "Back\\slash Ltd", "50% Off_Shop", "Line\nBreak",
      "acme labs", "zeta"]),
    ("order-desc-default-nulls-last", "SELECT Name FROM Account ORDER BY Industry DESC, Name",
     ["acme labs", "zeta", "50% Off_Shop", "Line\nBreak", "Acme", "Back\\slash Ltd",
      "O'Brien & Sons", "Zeta"]),
    ("order-asc-nulls-last", "SELECT Name FROM Account ORDER BY Industry ASC NULLS LAST, Name DESC",
     ["Back\\slash Ltd", "Acme", "Line\nBreak", "50% Off_Shop", "zeta", "acme labs", "Zeta",
      "O'Brien & Sons"]),
    ("order-desc-nulls-first",
     "SELECT Name FROM Account ORDER BY CloseDate__c DESC NULLS FIRST, Name",
     ["Line\nBreak", "O'Brien & Sons", "zeta", "Zeta", "acme labs", "50% Off_Shop", "Acme",
      "Back\\slash Ltd"]),
    ("order-limit", "SELECT Name FROM Account ORDER BY NumberOfEmployees DESC, Name LIMIT 3",
     ["50% Off_Shop", "Acme", "acme labs"]),
    ("order-limit-offset", "SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 3",
     ["Back\\slash Ltd", "Line\nBreak"]),
    ("offset-beyond-end", "SELECT Name FROM Account ORDER BY Name OFFSET 100", []),
    ("limit-zero", "SELECT Name FROM Account LIMIT 0", []),
    ("mixed-case-keywords", "sElEcT name fRoM aCcOuNt wHeRe NAME like 'ZETA' order BY name DeSc",
     ["Zeta", "zeta"]),
    ("count-only", "SELECT COUNT() FROM Account WHERE Industry = 'Banking'",
     ["Acme", "Back\\slash Ltd"]),
    # --- refused: outside the subset ----------------------------------------------------
    ("group-by", "SELECT Industry FROM Account GROUP BY Industry", "MALFORMED_QUERY"),
    ("relationship-field", "SELECT Parent.Name FROM Account", "MALFORMED_QUERY"),
    ("subquery", "SELECT Id, (SELECT Id FROM Contacts) FROM Account", "MALFORMED_QUERY"),
    ("count-field", "SELECT COUNT(Id) FROM Account", "MALFORMED_QUERY"),
    ("function", "SELECT toLabel(Industry) FROM Account", "MALFORMED_QUERY"),
    ("date-literal-today", Q + "CloseDate__c = TODAY", "MALFORMED_QUERY"),
    ("date-literal-n-days", Q + "LastSeen__c > LAST_N_DAYS:3", "MALFORMED_QUERY"),
    ("semi-join", Q + "Id IN (SELECT ParentId FROM Account)", "MALFORMED_QUERY"),
    ("for-update", "SELECT Id FROM Account FOR UPDATE", "MALFORMED_QUERY"),
    ("with-security", "SELECT Id FROM Account WITH SECURITY_ENFORCED", "MALFORMED_QUERY"),
    ("includes", Q + "Industry INCLUDES ('Banking')", "MALFORMED_QUERY"),
    ("and-or-without-parens", Q + "Name = 'a' AND Name = 'b' OR Name = 'c'", "MALFORMED_QUERY"),
    ("dangling-where", "SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
    ("empty-select", "SELECT FROM Account", "MALFORMED_QUERY"),
    ("unterminated-string", Q + "Name = 'abc", "MALFORMED_QUERY"),
    ("bad-escape", Q + "Name = 'a\\qb'", "MALFORMED_QUERY"),
    ("like-escape-outside-like", Q + "Name = '50\\%'", "MALFORMED_QUERY"),
    ("negative-limit", "SELECT Id FROM Account LIMIT -1", "MALFORMED_QUERY"),
    ("null-in-in-list", Q + "Industry IN ('Banking', null)", "MALFORMED_QUERY"),
    ("bind-variable", Q + "Name = :name", "MALFORMED_QUERY"),
    # --- refused: names and types ---------------------------------------------------------
    ("unknown-field", "SELECT Nope__c FROM Account", "INVALID_FIELD"),
    ("invisible-field", "SELECT Secret__c FROM Account", "INVALID_FIELD"),
    ("invisible-field-in-where", Q + "Secret__c = 's'", "INVALID_FIELD"),
    ("unknown-order-field", "SELECT Id FROM Account ORDER BY Nope", "INVALID_FIELD"),
    ("string-for-number", Q + "NumberOfEmployees = '5'", "INVALID_FIELD"),
    ("number-for-string", Q + "Name = 5", "INVALID_FIELD"),
    ("datetime-for-date", Q + "CloseDate__c = 2024-01-31T00:00:00Z", "INVALID_FIELD"),
    ("date-for-datetime", Q + "LastSeen__c > 2024-01-31", "INVALID_FIELD"),
    ("string-for-boolean", Q + "Active__c = 'true'", "INVALID_FIELD"),
    ("unknown-object", "SELECT Id FROM Foo__c", "INVALID_TYPE"),
    ("bad-id-literal", Q + "Id = 'xyz'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("like-on-number", Q + "NumberOfEmployees LIKE '5%'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("offset-over-2000", "SELECT Id FROM Account OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
]  # fmt: skip


@pytest.mark.parametrize(("soql", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_soql_statement(soql: str, expected: list[str] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(SoqlError) as info:
            names(soql)
        assert info.value.code == expected, info.value.message
        return
    got = names(soql)
    if " ORDER BY " in soql.upper():
        assert got == expected
    else:
        assert sorted(got) == sorted(expected)
        assert len(got) == len(set(got))


def test_query_all_includes_soft_deleted_rows() -> None:
    soql = "SELECT Name FROM Account WHERE Industry = 'Banking'"
    assert sorted(names(soql)) == ["Acme", "Back\\slash Ltd"]
    assert sorted(names(soql, include_deleted=True)) == ["Acme", "Back\\slash Ltd", "Deleted Co"]


def test_id_matches_in_15_and_18_character_form() -> None:
    rid = next(r["Id"] for r in STORE.table("Account").records.values() if r["Name"] == "Zeta")
    assert names(f"SELECT Id FROM Account WHERE Id = '{rid}'") == ["Zeta"]
    assert names(f"SELECT Id FROM Account WHERE Id = '{rid[:15]}'") == ["Zeta"]
    assert names(f"SELECT Id FROM Account WHERE Id != '{rid}' AND Name LIKE 'z%'") == ["zeta"]


def test_columns_keep_describe_casing_and_select_order() -> None:
    cq = compile_query(STORE, "select annualrevenue, NAME, id from ACCOUNT")
    assert [f.name for f in cq.columns] == ["AnnualRevenue", "Name", "Id"]
    assert cq.sobject == "Account"


def test_invalid_field_message_has_salesforce_layout() -> None:
    with pytest.raises(SoqlError) as info:
        compile_query(STORE, "SELECT Foo__c FROM Account")
    assert info.value.message.startswith(
        "\nSELECT Foo__c FROM Account\n       ^\nERROR at Row:1:Column:8\n"
        "No such column 'Foo__c' on entity 'Account'."
    )


def test_where_over_100k_records_answers_in_order() -> None:

    store = Store()
    store.add_table(ObjectTable("Account", _fields(), id_prefix="001"))
    store.insert_many("Account", [
        {"Name": f"N{i}", "NumberOfEmployees": i % 500, "Industry": ("Banking", None)[i % 2]}
        for i in range(100_000)
    ])  # fmt: skip
    cq = compile_query(
        store,
        "SELECT Id FROM Account WHERE (Industry = 'banking' OR NumberOfEmployees > 400) "
        "AND NOT Name LIKE 'N1%' ORDER BY NumberOfEmployees DESC, Name",
    )
    rows = cq.run(store)
    assert rows and all(rows[i]["NumberOfEmployees"] >= rows[i + 1]["NumberOfEmployees"]
                        for i in range(len(rows) - 1))  # fmt: skip


# --- properties -------------------------------------------------------------------------
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(TEXT)
def test_escaped_literal_round_trips_through_the_tokenizer(value: str) -> None:
    toks = tokenize(f"SELECT Id FROM Account WHERE Name = {escape_soql(value)}")
    assert toks[-2].kind == "string" and toks[-2].value == value


@settings(max_examples=50, deadline=None)
@given(TEXT)
def test_escaped_literal_finds_exactly_its_record(value: str) -> None:
    store = Store()
    store.add_table(ObjectTable("Account", _fields(), id_prefix="001"))
    store.insert_many("Account", [{"Name": value}, {"Name": value + "\x00other"}])
    cq = compile_query(store, f"SELECT Id FROM Account WHERE Name = {escape_soql(value)}")
    assert [r["Name"] for r in cq.run(store)] == [value]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(-5, 5)), max_size=30),
    st.booleans(),
    st.sampled_from(["", " NULLS FIRST", " NULLS LAST"]),
)
def test_order_by_sorts_with_nulls_where_asked(
    values: list[int | None], desc: bool, nulls: str
) -> None:
    store = Store()
    store.add_table(ObjectTable("Account", _fields(), id_prefix="001"))
    store.insert_many("Account", [{"NumberOfEmployees": v} for v in values])
    direction = " DESC" if desc else " ASC"
    cq = compile_query(
        store, f"SELECT Id FROM Account ORDER BY NumberOfEmployees{direction}{nulls}"
    )
    got = [r["NumberOfEmployees"] for r in cq.run(store)]
    nulls_last = nulls == " NULLS LAST" or (nulls == "" and desc)
    present = sorted((v for v in values if v is not None), reverse=desc)
    missing = [None] * (len(values) - len(present))
    assert got == (present + missing if nulls_last else missing + present)
