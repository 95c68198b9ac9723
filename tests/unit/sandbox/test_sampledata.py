"""The sandbox's sample data: deterministic, canonical, and a meaningful value matrix."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from connectors.finance.match import match_accounts
from connectors.sandbox.sampledata import SampleData, generate, write_files
from connectors.sandbox.sampledata_people import ARCHETYPES, ICP_INDUSTRIES, ICP_REGIONS, SHARES
from mappings.canonical import TABLES

AS_OF = date(2026, 6, 30)
T12 = [str(pd.Period(AS_OF, freq="M") - k) for k in range(12)]


@pytest.fixture(scope="module")
def data() -> SampleData:
    return generate(3000, seed=11)


def test_same_seed_gives_identical_frames() -> None:
    a, b = generate(400, seed=5), generate(400, seed=5)
    for name in TABLES:
        pd.testing.assert_frame_equal(a.tables()[name], b.tables()[name], obj=name)


def test_another_seed_gives_other_data() -> None:
    a, b = generate(400, seed=5), generate(400, seed=6)
    assert not a.accounts["name"].equals(b.accounts["name"])
    assert len(a.invoices) != len(b.invoices) or not a.invoices["amount"].equals(
        b.invoices["amount"]
    )


def _kind_ok(s: pd.Series, kind: str) -> bool:
    checks = {
        "str": lambda: pd.api.types.is_string_dtype(s) or s.dtype == object,
        "float": lambda: s.dtype == np.float64,
        "int": lambda: s.dtype == np.int64,
        "bool": lambda: s.dtype == bool,
        "datetime": lambda: isinstance(s.dtype, pd.DatetimeTZDtype) and str(s.dt.tz) == "UTC",
        "date": lambda: (
            pd.api.types.is_datetime64_dtype(s) and (s.dropna().dt.normalize() == s.dropna()).all()
        ),
        "period": lambda: s.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").all(),
    }
    return bool(checks[kind]())


@pytest.mark.parametrize("table", list(TABLES), ids=list(TABLES))
def test_tables_follow_the_canonical_schema(data: SampleData, table: str) -> None:
    spec, frame = TABLES[table], data.tables()[table]
    assert list(frame.columns[: len(spec.columns)]) == list(spec.column_names)
    for col in spec.columns:
        s = frame[col.name]
        if s.notna().any():
            assert _kind_ok(s, col.kind), f"{table}.{col.name} is {s.dtype}, not {col.kind}"
        if col.required:
            assert s.notna().all(), f"{table}.{col.name} has empty cells"
        if col.choices:
            assert set(s.dropna()) <= set(col.choices), f"{table}.{col.name}"
    if spec.key:
        assert frame[spec.key].is_unique


@pytest.mark.parametrize(
    ("table", "low", "high"),
    [("opportunities", 2.5, 3.6), ("tickets", 2.3, 3.8), ("invoices", 6.0, 12.0)],
    ids=["opportunities~3", "tickets~3", "invoices 6-12"],
)
def test_related_records_per_account(data: SampleData, table: str, low: float, high: float) -> None:
    per_account = len(data.tables()[table]) / len(data.accounts)
    assert low <= per_account <= high
    assert set(data.tables()[table]["account_id"]) <= set(data.accounts["account_id"])


def _t12(data: SampleData, erp: str) -> tuple[float, float]:
    f = data.finance[(data.finance["erp_customer_id"] == erp) & data.finance["period"].isin(T12)]
    return round(f["revenue"].sum(), 2), round((f["revenue"] - f["cost_of_delivery"]).sum(), 2)


@pytest.mark.parametrize("n", [2, 60, 3000], ids=["2 accounts", "60 accounts", "3000 accounts"])
def test_customers_a_and_b_have_the_design_figures(n: int) -> None:
    d = generate(n, seed=11)
    acc = d.accounts.set_index("account_id")
    a, b = acc.loc[d.truth.customer_a], acc.loc[d.truth.customer_b]
    assert (a["name"], b["name"]) == ("Alpha Precision GmbH", "Beta Bulk Trading Ltd")
    assert _t12(d, "C100001") == (100_000.0, 35_000.0)
    assert _t12(d, "C100002") == (100_000.0, 12_000.0)
    assert a["industry"] in ICP_INDUSTRIES and a["region"] in ICP_REGIONS
    assert 50 <= a["employees"] <= 999
    assert b["industry"] not in ICP_INDUSTRIES and b["region"] not in ICP_REGIONS


def test_a_is_easy_to_serve_and_pays_on_time_b_is_neither(data: SampleData) -> None:
    t, inv = data.tickets, data.invoices
    ta, tb = t[t["account_id"] == "S0000001"], t[t["account_id"] == "S0000002"]
    assert len(ta) == 2 and not ta["is_escalation"].any() and ta["effort_hours"].sum() <= 2
    assert (tb["category"] == "special_request").sum() >= 10
    assert tb["is_escalation"].sum() >= 5 and tb["effort_hours"].sum() >= 100
    ia, ib = inv[inv["account_id"] == "S0000001"], inv[inv["account_id"] == "S0000002"]
    paid_a, paid_b = ia.dropna(subset=["paid_date"]), ib.dropna(subset=["paid_date"])
    assert len(ia) == 12 and (paid_a["paid_date"] <= paid_a["due_date"]).all()
    assert len(paid_b) >= 4 and (paid_b["paid_date"] > paid_b["due_date"]).all()
    fa = data.finance[data.finance["erp_customer_id"] == "C100001"]
    fb = data.finance[data.finance["erp_customer_id"] == "C100002"]
    assert (fa.tail(12)["revenue"] > 0).all() and (fb.tail(12)["revenue"] == 0).sum() >= 3


def test_finance_join_has_work_to_do_and_succeeds(data: SampleData) -> None:
    truth = data.truth
    result = match_accounts(data.finance, data.accounts)
    assert result.by_method["domain"] == len(truth.match_by_domain) > 0
    assert result.by_method["name"] == len(truth.match_by_name) > 0
    assert set(result.unmatched_finance["erp_customer_id"]) == set(truth.unmatched_erp_ids)
    assert set(result.accounts_without_finance["account_id"]) == set(truth.accounts_without_finance)
    crm_missing_erp = data.accounts.set_index("account_id")["erp_id"].isna()
    assert set(crm_missing_erp[crm_missing_erp].index) == {
        *truth.match_by_domain,
        *truth.match_by_name,
    }


def test_unmatched_and_missing_finance_shares(data: SampleData) -> None:
    erp_customers = data.finance["erp_customer_id"].nunique()
    assert 0.01 <= len(data.truth.unmatched_erp_ids) / erp_customers <= 0.03
    assert 0.02 <= len(data.truth.accounts_without_finance) / len(data.accounts) <= 0.04
    assert not set(data.truth.unmatched_erp_ids) & set(data.accounts["erp_id"].dropna())


def test_archetype_proportions(data: SampleData) -> None:
    shares = data.truth.archetype.value_counts(normalize=True)
    for name, expected in zip(ARCHETYPES, SHARES, strict=True):
        assert shares[name] == pytest.approx(expected, abs=0.03), name


def _by_archetype(data: SampleData) -> pd.DataFrame:
    kind = data.truth.archetype
    fin = data.finance[data.finance["period"].isin(T12)].copy()
    fin["account_id"] = fin["erp_customer_id"].map(
        pd.Series(data.truth.erp_of.index, data.truth.erp_of)
    )
    fin["margin"] = fin["revenue"] - fin["cost_of_delivery"]
    per = fin.groupby("account_id")[["revenue", "margin"]].sum()
    per["tickets"] = data.tickets.groupby("account_id").size()
    inv = data.invoices.dropna(subset=["paid_date"])
    per["days_late"] = (
        (inv["paid_date"] - inv["due_date"]).dt.days.groupby(inv["account_id"]).mean()
    )
    per["kind"] = kind
    per = per.fillna({"tickets": 0})
    out = per.groupby("kind")[["revenue", "margin", "tickets", "days_late"]].mean()
    out["margin_rate"] = out["margin"] / out["revenue"]
    return out


@pytest.mark.parametrize(
    ("metric", "higher", "lower"),
    [
        ("margin_rate", "core", "loud"),
        ("margin_rate", "grower", "noise"),
        ("tickets", "loud", "core"),
        ("days_late", "loud", "core"),
        ("revenue", "loud", "grower"),
    ],
    ids=lambda v: str(v),
)
def test_archetypes_differ_where_the_value_matrix_looks(
    data: SampleData, metric: str, higher: str, lower: str
) -> None:
    table = _by_archetype(data)
    assert table.loc[higher, metric] > table.loc[lower, metric]


def test_loud_customers_are_loud(data: SampleData) -> None:
    t = data.tickets.assign(kind=data.tickets["account_id"].map(data.truth.archetype))
    rates = t.groupby("kind")[["is_escalation"]].mean()
    special = (t["category"] == "special_request").groupby(t["kind"]).mean()
    assert rates.loc["loud", "is_escalation"] > 3 * rates.loc["core", "is_escalation"]
    assert special["loud"] > 3 * special["core"]


def test_invoices_are_consistent(data: SampleData) -> None:
    inv = data.invoices
    assert (inv["due_date"] >= inv["issue_date"]).all()
    assert inv.loc[inv["status"] == "paid", "paid_date"].notna().all()
    assert inv.loc[inv["status"] != "paid", "paid_date"].isna().all()
    assert (inv["issue_date"] <= pd.Timestamp(AS_OF)).all()
    assert inv["currency"].value_counts(normalize=True)["EUR"] > 0.75
    assert set(inv["currency"]) == {"EUR", "USD", "GBP"}


def test_stamps_are_ordered_and_not_after_as_of(data: SampleData) -> None:
    end = pd.Timestamp(AS_OF, tz="UTC") + pd.Timedelta(days=1)
    for name in ("accounts", "opportunities", "tickets"):
        f = data.tables()[name]
        assert (f["created_at"] <= f["modified_at"]).all(), name
        assert (f["modified_at"] < end).all(), name
    opp = data.opportunities
    assert (opp["is_won"] <= opp["is_closed"]).all()
    assert (opp.loc[~opp["is_closed"], "close_date"] > pd.Timestamp(AS_OF)).all()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_files_round_trips(tmp_path, fmt: str) -> None:
    d = generate(120, seed=2)
    paths = write_files(d, tmp_path, fmt=fmt)
    assert sorted(p.name for p in paths) == sorted(f"{t}.{fmt}" for t in [*TABLES, "rates"])
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    rates = read(tmp_path / f"rates.{fmt}").set_index("currency")["rate"]
    assert rates["EUR"] == 1.0 and 1.1 < rates["GBP"] < 1.25 and 0.85 < rates["USD"] < 1.0
    fin = read(tmp_path / f"finance.{fmt}")
    assert len(fin) == len(d.finance)
    assert {"customer_name", "domain", "erp_customer_id", "period"} <= set(fin.columns)
    inv = read(tmp_path / f"invoices.{fmt}")
    assert inv["paid_date"].isna().sum() == d.invoices["paid_date"].isna().sum()
    if fmt == "csv":
        first = (tmp_path / "tickets.csv").read_text().splitlines()[1]
        assert "Z," in first  # ISO-8601 UTC datetimes
