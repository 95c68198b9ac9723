"""sync.pipeline.diff.push_frame (vectorised) gives exactly what the per-value loop it
replaced gave."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.pipeline.diff import CHANGE_COLUMNS, kind_of, push_frame


def reference_push_frame(changes: pd.DataFrame, clear: Any) -> pd.DataFrame:
    """The loop implementation push_frame had before it was vectorised, kept as the oracle."""
    if changes.empty:
        return pd.DataFrame({"id": []})
    values = [
        clear if v is None else (pd.Timestamp(v) if kind_of(c) == "datetime" else v)
        for c, v in zip(changes["column"], changes["new"], strict=True)
    ]
    long = changes.assign(value=values)
    ids = list(dict.fromkeys(long["record_id"]))
    fields = list(dict.fromkeys(long["field"]))
    out = pd.DataFrame({"id": ids})
    pos = {rid: i for i, rid in enumerate(ids)}
    for field in fields:
        part = long[long["field"] == field]
        column: list[Any] = [None] * len(ids)
        for rid, v in zip(part["record_id"], part["value"], strict=True):
            column[pos[rid]] = v
        out[field] = pd.Series(column, dtype=object)
    return out


def same_cell(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, pd.Timestamp):
        return bool(a.unit == b.unit and a.tz == b.tz and a == b)
    return bool(a is b or a == b)


def assert_identical(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert got.dtypes.to_dict() == want.dtypes.to_dict()
    assert got.index.equals(want.index)
    for column in want.columns:
        for i, (a, b) in enumerate(zip(got[column], want[column], strict=True)):
            assert same_cell(a, b), f"{column}[{i}]: {a!r} != {b!r}"


def changes(rows: list[tuple[str, str, str, Any]]) -> pd.DataFrame:
    """A change set from (record_id, column, field, new) rows, as diff_table builds it."""
    return pd.DataFrame(
        {
            "object": "accounts",
            "record_id": [r[0] for r in rows],
            "column": [r[1] for r in rows],
            "field": [r[2] for r in rows],
            "previous": [None] * len(rows),
            "new": pd.Series([r[3] for r in rows], dtype=object),
        },
        columns=CHANGE_COLUMNS,
    )


STAMP = "2026-07-01T08:30:00+00:00"
CASES: dict[str, list[tuple[str, str, str, Any]]] = {
    "one cell": [("001A", "quadrant", "Value_Quadrant__c", "Star")],
    "fields in first-seen order": [
        ("001A", "value_score", "Value_Score__c", 71.5),
        ("001B", "quadrant", "Value_Quadrant__c", "Star"),
        ("001A", "quadrant", "Value_Quadrant__c", "Cash Cow"),
        ("001C", "clv", "CLV__c", 12000.25),
    ],
    "none becomes clear, other cells stay None": [
        ("001A", "reason", "Value_Reason__c", None),
        ("001B", "fit_score", "Fit_Score__c", 40.0),
    ],
    "datetime strings and the clear": [
        ("001A", "scored_at", "Scored_At__c", STAMP),
        ("001B", "scored_at", "Scored_At__c", None),
        ("001C", "scored_at", "Scored_At__c", "2026-07-01T08:30:00.123000+02:00"),
        ("001D", "scored_at", "Scored_At__c", datetime(2026, 7, 1, tzinfo=UTC)),
        ("001E", "scored_at", "Scored_At__c", float("nan")),
    ],
    "nan and booleans are values, not clears": [
        ("001A", "value_score", "Value_Score__c", float("nan")),
        ("001A", "predicted", "Predicted__c", False),
        ("001B", "predicted", "Predicted__c", True),
        ("001B", "quadrant", "Value_Quadrant__c", ""),
    ],
    "the later of two changes to one cell wins": [
        ("001A", "quadrant", "Value_Quadrant__c", "Star"),
        ("001B", "quadrant", "Value_Quadrant__c", "Dog"),
        ("001A", "quadrant", "Value_Quadrant__c", None),
        ("001A", "quadrant", "Value_Quadrant__c", "Cash Cow"),
    ],
    "two columns on one field": [
        ("001A", "account_action", "Action__c", "grow"),
        ("001B", "deal_priority", "Action__c", "high"),
    ],
}


@pytest.mark.parametrize("clear", ["#N/A", "", None], ids=["salesforce", "hubspot", "none"])
@pytest.mark.parametrize("rows", list(CASES.values()), ids=list(CASES))
def test_same_as_the_loop(rows: list[tuple[str, str, str, Any]], clear: Any) -> None:
    frame = changes(rows)
    assert_identical(push_frame(frame, clear), reference_push_frame(frame, clear))


def test_empty_change_set() -> None:
    frame = pd.DataFrame(columns=CHANGE_COLUMNS)
    assert_identical(push_frame(frame, "#N/A"), reference_push_frame(frame, "#N/A"))


def test_shape_of_a_small_frame() -> None:
    """Spelled out once, so a shared mistake of both implementations shows too."""
    frame = changes(CASES["fields in first-seen order"] + CASES["datetime strings and the clear"])
    out = push_frame(frame, "#N/A")
    assert list(out.columns) == [
        "id", "Value_Score__c", "Value_Quadrant__c", "CLV__c", "Scored_At__c",
    ]  # fmt: skip
    assert out["id"].tolist() == ["001A", "001B", "001C", "001D", "001E"]
    assert out["Value_Quadrant__c"].tolist() == ["Cash Cow", "Star", None, None, None]
    assert out["Scored_At__c"].iloc[0] == pd.Timestamp(STAMP)
    assert out["Scored_At__c"].iloc[1] == "#N/A"
    assert out["CLV__c"].iloc[:2].tolist() == [None, None]


COLUMNS = [
    ("quadrant", "Value_Quadrant__c"), ("value_score", "Value_Score__c"),
    ("clv", "CLV__c"), ("scored_at", "Scored_At__c"), ("predicted", "Predicted__c"),
    ("reason", "Value_Reason__c"),
]  # fmt: skip
BASE = datetime(2026, 1, 1, tzinfo=UTC)
value_of_kind = {
    "picklist": st.one_of(st.none(), st.sampled_from(["Star", "Dog", ""])),
    "number": st.one_of(st.none(), st.floats(allow_infinity=False), st.integers(-5, 5)),
    "currency": st.one_of(st.none(), st.floats(-1e9, 1e9)),
    "text": st.one_of(st.none(), st.text(max_size=5)),
    "checkbox": st.one_of(st.none(), st.booleans()),
    "datetime": st.one_of(
        st.none(),
        st.integers(0, 10**8).map(lambda s: (BASE + timedelta(seconds=s)).isoformat()),
        st.integers(0, 10**6).map(
            lambda s: (BASE + timedelta(seconds=s)).astimezone(timezone(timedelta(hours=2)))
        ),
    ),
}


@st.composite
def change_rows(draw: st.DrawFn) -> list[tuple[str, str, str, Any]]:
    ids = draw(st.lists(st.sampled_from([f"00{i}" for i in range(12)]), max_size=60))
    rows = []
    for rid in ids:
        column, field = draw(st.sampled_from(COLUMNS))
        rows.append((rid, column, field, draw(value_of_kind[kind_of(column)])))
    return rows


@settings(max_examples=300, deadline=None)
@given(rows=change_rows(), clear=st.sampled_from(["#N/A", "", None]))
def test_same_as_the_loop_on_any_change_set(rows: list[Any], clear: Any) -> None:
    frame = changes(rows)
    assert_identical(push_frame(frame, clear), reference_push_frame(frame, clear))


def test_same_as_the_loop_at_size() -> None:
    """A few thousand records over several fields, with a realistic share of clears."""
    rng = np.random.default_rng(5)
    n = 3_000
    rows = []
    for i in rng.permutation(n):
        rid = f"001{i:06d}"
        for column, field in COLUMNS:
            if rng.random() < 0.7:
                kind = kind_of(column)
                value: Any = (
                    None if rng.random() < 0.05
                    else STAMP if kind == "datetime"
                    else bool(rng.random() < 0.5) if kind == "checkbox"
                    else float(round(rng.random() * 100, 1)) if kind in ("number", "currency")
                    else str(rng.choice(["Star", "Dog", "Cash Cow"]))
                )  # fmt: skip
                rows.append((rid, column, field, value))
    frame = changes(rows)
    assert_identical(push_frame(frame, "#N/A"), reference_push_frame(frame, "#N/A"))


def test_a_missing_text_output_equals_an_empty_crm_field() -> None:
    """A rule field the engine leaves empty (no Deal Priority on a closed deal) against an
    empty CRM field is no change, whatever form "missing" takes (NaN, None, NA, "")."""
    from sync.pipeline.diff import normalise, same

    computed = pd.Series(["Pursue", np.nan, None, ""], dtype=object)
    held = pd.Series(["Pursue", pd.NA, None, None], dtype="string")
    assert list(normalise(computed, "deal_priority")) == ["Pursue", None, None, None]
    assert same(normalise(computed, "deal_priority"), normalise(held, "deal_priority"),
                "deal_priority").all()  # fmt: skip
    assert not same(normalise(computed, "deal_priority"), normalise(held.fillna("Pursue"),
                    "deal_priority"), "deal_priority")[1:].any()  # fmt: skip
