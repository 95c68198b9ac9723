"""Loading finance sources: CSV, Parquet, Excel, SQL; currency conversion; per-month totals."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.finance.loader import load_finance, rates_from_salesforce
from mappings.canonical import FINANCE
from mappings.errors import ConfigError, ConnectorError
from mappings.finance import FinanceMapping, load_finance_mapping

ROWS = pd.DataFrame(
    {
        "erp_customer_id": ["E1", "E1", "E2", "E2", "E2"],
        "period": ["2026-01", "2026-01", "2026-01", "2026-02", "2026-04"],
        "revenue": [1000.0, 500.0, 220.0, 110.0, 108.0],
        "cost_of_delivery": [400.0, 100.0, 110.0, 55.0, 54.0],
        "acquisition_cost": [50.0, None, None, None, None],
        "currency": ["EUR", "EUR", "USD", "USD", "USD"],
    }
)
RATES = pd.DataFrame(  # corporate_per_unit: EUR per USD
    {"currency": ["USD", "USD"], "rate": [1 / 1.10, 1 / 1.08], "date": ["", "2026-03-01"]}
)


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_excel(path, index=False)
    return path


def check_canonical(loaded) -> None:
    frame = loaded.frame
    assert set(FINANCE.column_names) <= set(frame.columns)
    e1 = frame[frame["erp_customer_id"] == "E1"]
    assert e1[["period", "revenue", "cost_of_delivery"]].values.tolist() == [
        ["2026-01", 1500.0, 500.0]
    ]
    e2 = frame[frame["erp_customer_id"] == "E2"].set_index("period")
    assert e2.loc["2026-01", "revenue"] == pytest.approx(200.0)  # undated rate 1.10
    assert e2.loc["2026-04", "revenue"] == pytest.approx(100.0)  # dated rate from March: 1.08
    assert (frame["currency"] == "EUR").all()
    assert loaded.stats["finance"].converted == {"USD": 3}
    assert loaded.quarantine.empty


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_file_sources_load_convert_and_sum_per_month(tmp_path: Path, finance_mapping, suffix: str):
    path = write(ROWS, tmp_path / f"finance{suffix}")
    mapping = finance_mapping(path, kind=suffix[1:], rates={"kind": "crm"})
    check_canonical(load_finance(mapping, rates=RATES))


def test_excel_source(tmp_path: Path, finance_mapping):
    if importlib.util.find_spec("openpyxl") is None:
        pytest.skip("openpyxl not installed")
    path = write(ROWS, tmp_path / "finance.xlsx")
    check_canonical(
        load_finance(finance_mapping(path, kind="excel", rates={"kind": "crm"}), rates=RATES)
    )


def test_excel_without_openpyxl_is_a_config_error(tmp_path: Path, finance_mapping):
    if importlib.util.find_spec("openpyxl") is not None:
        pytest.skip("openpyxl is installed")
    path = tmp_path / "finance.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ConfigError, match="needs the openpyxl package"):
        load_finance(finance_mapping(path, kind="excel"))


def sql_mapping(url: str, query: str, **source) -> FinanceMapping:
    raw = load_finance_mapping().model_dump(exclude_none=True)
    raw["tables"]["finance"]["source"] = {"kind": "sql", "query": query, **source}
    if url:
        raw["tables"]["finance"]["source"]["url"] = url
    raw["rates"] = {"kind": "crm"}
    return FinanceMapping.model_validate(raw)


def test_sql_source_with_url_from_env(tmp_path: Path, monkeypatch):
    url = f"sqlite:///{tmp_path}/erp.db"
    engine = sa.create_engine(url)
    ROWS.to_sql("monthly", engine, index=False)
    engine.dispose()
    monkeypatch.setenv("ERP_URL", url)
    mapping = sql_mapping("", "select * from monthly", url_env="ERP_URL")
    check_canonical(load_finance(mapping, rates=RATES))


def test_sql_query_errors_name_the_source(tmp_path: Path):
    mapping = sql_mapping(f"sqlite:///{tmp_path}/erp.db", "select * from nope")
    with pytest.raises(ConnectorError, match="no such table: nope; check the query") as info:
        load_finance(mapping, rates=RATES)
    assert info.value.system == "finance"


def test_sql_connection_errors_never_show_the_password(monkeypatch):
    monkeypatch.setenv("ERP_PW", "hunter2-secret")
    url = "postgresql+psycopg://etl@127.0.0.1:1/erp"
    mapping = sql_mapping(url, "select 1", password_env="ERP_PW")
    with pytest.raises(ConnectorError) as info:
        load_finance(mapping, rates=RATES)
    assert "127.0.0.1" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_missing_password_env_var_is_named(monkeypatch):
    monkeypatch.delenv("ERP_PW", raising=False)
    mapping = sql_mapping(
        "postgresql+psycopg://etl@127.0.0.1:1/erp", "select 1", password_env="ERP_PW"
    )
    with pytest.raises(ConfigError, match="environment variable ERP_PW"):
        load_finance(mapping, rates=RATES)


def test_salesforce_rates_shape():
    rates = rates_from_salesforce(
        pd.DataFrame(
            {"IsoCode": ["EUR", "USD"], "ConversionRate": [1.0, 1.1], "IsCorporate": [True, False]}
        ),
        pd.DataFrame({"IsoCode": ["USD"], "ConversionRate": [1.08], "StartDate": ["2026-03-01"]}),
    )
    assert rates["currency"].tolist() == ["EUR", "USD", "USD"]
    assert rates["date"].isna().tolist() == [True, True, False]
    # ConversionRate is USD per EUR; valuesync's convention is EUR per USD
    assert rates["rate"].tolist() == pytest.approx([1.0, 1 / 1.1, 1 / 1.08])


def test_shipped_mapping_reads_the_sample_export_layout(tmp_path: Path):
    ROWS[ROWS["currency"] == "EUR"].to_csv(tmp_path / "finance.csv", index=False)
    loaded = load_finance(load_finance_mapping(), base_dir=tmp_path)
    assert loaded.frame["revenue"].tolist() == [1500.0]
    assert loaded.corporate_currency == "EUR"


def test_under_the_threshold_the_run_goes_on(tmp_path: Path, finance_mapping):
    good = pd.concat([ROWS.iloc[[0]]] * 199, ignore_index=True).assign(
        erp_customer_id=[f"E{i}" for i in range(199)]
    )
    bad = ROWS.iloc[[0]].assign(revenue="n/a")
    path = write(pd.concat([good, bad], ignore_index=True), tmp_path / "finance.csv")
    loaded = load_finance(finance_mapping(path))  # 1 of 200 = 0.5 % < 1 %
    assert len(loaded.frame) == 199
    assert loaded.quarantine["line"].tolist() == [201]
