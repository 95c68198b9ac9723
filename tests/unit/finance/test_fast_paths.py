"""The fast paths of the finance loader give what the reference code gives, value for value.

The reference for a CSV is `csv.reader` line by line (`_read_csv_exact`); for parsing,
the column-at-once code that ran before values were parsed once per distinct value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.finance.fast_csv import read_csv_fast
from connectors.finance.match import (
    _domain,
    _id,
    _name,
    normalise_domain,
    normalise_id,
    normalise_name,
)
from connectors.finance.parse import _parse_text, _to_number, parse_column
from connectors.finance.read import _read_csv, _read_csv_exact
from mappings.canonical import Column
from mappings.finance import SourceSpec

DATA = Path(__file__).parents[2] / "data" / "finance"
HEADER = "erp_customer_id,period,revenue\n"

# name -> (file bytes, whether the fast path may answer)
CSV_CASES = {
    "plain": (HEADER + "E1,2026-01,10.5\nE2,2026-02,3\n", True),
    "no-final-newline": (HEADER + "E1,2026-01,10.5", True),
    "quoted-delimiter": (HEADER + '"E,1",2026-01,1\n"E ""2""",2026-01,2\n', True),
    "crlf": (HEADER.replace("\n", "\r\n") + "E1,2026-01,1\r\nE2,2026-01,2\r\n", True),
    "blank-lines": (HEADER + "\nE1,2026-01,1\n\n\nE2,2026-01,2\n\n", True),
    "bom": ("\ufeff" + HEADER + "E1,2026-01,1\n", True),
    "quote-inside-field": (HEADER + 'E"1,2026-01,1\n', False),
    "space-before-quote": (HEADER + 'E1, "2026-01",1\n', False),
    "quoted-newline": (HEADER + '"E\n1",2026-01,1\nE2,2026-01,2\n', False),
    "unbalanced-quote": (HEADER + '"E1,2026-01,1\nE2,2026-01,2\n', False),
    "ragged": (HEADER + "E1,2026-01,1,extra\nE2,2026-01,2\n", False),
    "whitespace-line": (HEADER + "E1,2026-01,1\n   \nE2,2026-01,2\n", False),
    "lone-cr": (HEADER + "E1,2026-01,1\rE2,2026-01,2\n", False),
    "nul": (HEADER + "E1\x00,2026-01,1\n", False),
    "header-only": (HEADER, True),
}


@pytest.mark.parametrize("name", list(CSV_CASES))
def test_fast_csv_reader_matches_csv_reader(tmp_path: Path, name: str):
    text, fast = CSV_CASES[name]
    path = tmp_path / "finance.csv"
    path.write_bytes(text.encode("utf-8"))
    spec = SourceSpec(kind="csv", path=str(path))
    assert (read_csv_fast(path, "utf-8-sig", ",") is not None) is fast
    got, want = _read_csv(spec, path), _read_csv_exact(spec, path, "utf-8-sig")
    pd.testing.assert_frame_equal(got.frame.astype(object), want.frame)
    assert got.lines.tolist() == want.lines.tolist()
    pd.testing.assert_frame_equal(got.bad, want.bad)


@pytest.mark.parametrize("path", sorted(DATA.glob("*.csv")), ids=lambda p: p.name)
def test_fast_csv_reader_matches_on_the_malformed_corpus(path: Path):
    spec = SourceSpec(kind="csv", path=str(path))
    try:
        want = _read_csv_exact(spec, path, "utf-8-sig")
    except Exception as exc:  # the corpus' refusals: the same error, same message
        with pytest.raises(type(exc)) as info:
            _read_csv(spec, path)
        assert str(info.value) == str(exc)
        return
    got = _read_csv(spec, path)
    pd.testing.assert_frame_equal(got.frame.astype(object), want.frame)
    assert got.lines.tolist() == want.lines.tolist()
    pd.testing.assert_frame_equal(got.bad, want.bad)


def reference_number(values: list[object]) -> np.ndarray:
    text = pd.Series(values, dtype=object).astype("string").str.strip()
    return pd.to_numeric(text, errors="coerce").astype("float64").to_numpy()


@pytest.mark.parametrize(
    "values",
    [
        ["12.5", "0.10", "-3", "", None, "007.25", "123456789012.34"],
        ["1", "2", "-0"],  # to_numeric: int 0; Arrow: -0.0
        ["1.5", "-0.0"],
        ["1", "12345678901234567890"],  # beyond 15 digits: to_numeric decides
        ["1.5", "12345678901234567890"],
        ["1e5", "2"],
        ["1,5", "2"],
        ["-", "2"],
        ["1.2.3", "2"],
        [" 12.5 ", "inf", "nan"],
        ["", ""],
    ],
    ids=repr,
)
def test_numbers_parse_as_to_numeric_bit_for_bit(values: list[object]):
    got = _to_number(pd.Series(values, dtype=object).astype("string"), ".", None).to_numpy()
    want = reference_number(values)
    assert np.array_equal(got, want, equal_nan=True)
    assert np.signbit(got).tolist() == np.signbit(want).tolist()


TEXT = st.lists(
    st.one_of(
        st.none(),
        st.sampled_from(["2026-01", " 2026-02 ", "2026-13", "", "eur", "USD", "Ümlaut GmbH"]),
        st.text(max_size=8),
    ),
    min_size=1,
    max_size=25,
)
KINDS = [
    (Column("period", "period"), "%Y-%m"),
    (Column("period", "period"), None),
    (Column("issue_date", "date"), None),
    (Column("currency", "str"), None),
    (Column("customer_name", "str"), None),
    (Column("status", "str", choices=("open", "paid")), None),
]


@pytest.mark.parametrize(("column", "fmt"), KINDS, ids=lambda k: getattr(k, "name", str(k)))
@given(values=TEXT)
def test_parsing_each_distinct_value_once_changes_nothing(column: Column, fmt, values):
    source = pd.Series(values, dtype=object)
    got = parse_column(source, column, fmt, "EUR", (".", None))
    want = _parse_text(source, column, fmt, "EUR")
    pd.testing.assert_series_equal(got.values, want.values)
    assert got.bad.tolist() == want.bad.tolist()
    assert got.blank.tolist() == want.blank.tolist()
    assert got.reason == want.reason


NAMES = st.lists(
    st.one_of(st.none(), st.text(max_size=20), st.integers(0, 3), st.floats(0, 3), st.booleans()),
    min_size=1,
    max_size=25,
)


@given(values=NAMES)
def test_normalising_each_distinct_value_once_changes_nothing(values):
    source = pd.Series(values, dtype=object)
    for fast, direct in ((normalise_name, _name), (normalise_domain, _domain), (normalise_id, _id)):
        pd.testing.assert_series_equal(fast(source), direct(source))
