"""The diff's normal form and the write guard, vectorised, against their plain definitions:
numbers rounded half away from zero to the field's scale exactly as the scalar rule does,
one missing value (None) whatever the input's NA, and the guard's codes per value."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import FieldInfo, ObjectSchema
from sync.pipeline.diff import normalise, same
from sync.pipeline.guard import fit, half_up, half_up_array

FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**9), 10**9).map(lambda n: n / 1000),  # three decimals: ties at scale 2
    st.integers(-(10**6), 10**6).map(lambda n: n + 0.5),  # exact ties at scale 0
    st.sampled_from([0.285, 1.005, 2.675, -0.5, 56.5, 1e300, -1e-300, 0.0, -0.0]),
)


@given(st.lists(FLOATS, max_size=40), st.integers(0, 6))
def test_half_up_array_is_the_scalar_rule_bit_for_bit(numbers: list[float], scale: int) -> None:
    got = half_up_array(np.array(numbers, dtype="float64"), scale)
    for x, y in zip(numbers, got, strict=True):
        if math.isfinite(x):
            assert y == half_up(x, scale) and math.copysign(1, y) == math.copysign(
                1, half_up(x, scale)
            ), (x, y)
        else:
            assert (math.isnan(x) and math.isnan(y)) or x == y


def test_normalise_has_one_missing_value_per_kind() -> None:
    missing = [None, float("nan"), pd.NA, ""]
    assert list(normalise(pd.Series([*missing, 12.346, "7"], dtype=object), "clv")) == [
        None, None, None, None, 12.35, 7.0,
    ]  # fmt: skip
    assert list(normalise(pd.Series([*missing, "Core", 3], dtype=object), "quadrant")) == [
        None, None, None, None, "Core", "3",
    ]  # fmt: skip
    stamp = datetime(2026, 12, 1, 8, 30, 15, 900_000, tzinfo=UTC)
    assert list(normalise(pd.Series([None, stamp, "2026-12-01T08:30:15Z"]), "scored_at")) == [
        None, "2026-12-01T08:30:15+00:00", "2026-12-01T08:30:15+00:00",
    ]  # fmt: skip


def test_same_treats_two_empties_as_equal_and_compares_numbers_to_the_cent() -> None:
    a = normalise(pd.Series([None, 1.004, 2.0, None, "x"], dtype=object), "clv")
    b = normalise(pd.Series([float("nan"), 1.0, 2.01, 3.0, None], dtype=object), "clv")
    assert same(a, b, "clv").tolist() == [True, True, False, False, True]
    t = normalise(pd.Series(["A", None, "", "B"], dtype=object), "quadrant")
    u = normalise(pd.Series(["A", "", None, "C"], dtype=object), "quadrant")
    assert same(t, u, "quadrant").tolist() == [True, True, True, False]


def test_fit_rounds_to_scale_sets_aside_the_unwritable_and_keeps_clears() -> None:
    schema = ObjectSchema("Account", {
        "Score__c": FieldInfo("Score__c", "double", precision=3, scale=0),
        "Money__c": FieldInfo("Money__c", "currency", precision=18, scale=2),
        "Quadrant__c": FieldInfo("Quadrant__c", "picklist", picklist=("Core", "Develop")),
        "Reason__c": FieldInfo("Reason__c", "string", length=5),
    })  # fmt: skip
    rows = [
        ("a1", "value_score", "Score__c", 56.0, 56.5),  # 57 after rounding: a change
        ("a2", "value_score", "Score__c", 57.0, 56.5),  # 57 after rounding: no change
        ("a3", "value_score", "Score__c", None, 1234.0),  # too big for precision 3
        ("a4", "clv", "Money__c", 1.0, float("inf")),  # not finite
        ("a5", "quadrant", "Quadrant__c", "Core", "Premium"),  # not an option
        ("a6", "reason", "Reason__c", None, "abcdefgh"),  # cut to 5
        ("a7", "clv", "Money__c", 3.0, None),  # a clear
        ("a8", "clv", "Money__c", 3.0, float("nan")),  # NaN is no value: a clear too
    ]
    frame = pd.DataFrame(rows, columns=["record_id", "column", "field", "previous", "new"])
    frame.insert(0, "object", "accounts")
    kept, rejected = fit("accounts", schema, frame)
    assert dict(zip(kept["record_id"], kept["new"], strict=True)) == {
        "a1": 57.0, "a6": "abcde", "a7": None, "a8": None,
    }  # fmt: skip
    assert dict(zip(rejected["record_id"], rejected["code"], strict=True)) == {
        "a3": "OUT_OF_RANGE", "a4": "NON_FINITE", "a5": "NOT_AN_OPTION",
    }  # fmt: skip
    assert "precision 3, scale 0" in rejected.set_index("record_id").loc["a3", "message"]
