"""load_finance_cached: the same FinanceLoad as load_finance, from Parquet when nothing changed.

A cache hit is seen in the cache's log line; the key is the content: an export edited in
place with the same size and modification time is read again, a touch alone is not.
"""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from connectors.finance.cache import load_finance_cached
from connectors.finance.loader import FinanceLoad, load_finance
from mappings.errors import DataError, FinanceDataError
from mappings.finance import load_finance_mapping

AS_OF = date(2026, 6, 30)
ROWS = (
    "account_id,erp_customer_id,period,revenue,cost_of_delivery,acquisition_cost,currency,"
    "customer_name,domain\n"
    ',C1,2026-01,100.50,40.25,,EUR,"Acme, GmbH",acme.de\n'
    ",C1,2026-01,10.00,4.00,5.5,EUR,Acme GmbH,acme.de\n"
    ",C2,2026-02,200.00,80.00,,EUR,Globex Inc,\n"
    "S9,,2026-03,300.00,90.00,,EUR,,\n"
    ",C3,2026-05,n/a,1.00,,EUR,Bad Row,\n"  # quarantined: 1 of 200 rows is under 1 %
)
FILLER = "".join(f",F{i:03d},2026-04,1.00,0.50,,EUR,Filler {i},\n" for i in range(195))
INVOICES = (
    "invoice_no,customer_number,issued,due,paid,gross_amount,currency,status\n"
    "I1,C1,2026-01-31,2026-02-28,2026-02-20,119.00,EUR,paid\n"
    "I2,C2,2026-02-28,2026-03-30,,238.00,EUR,open\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """finance.yaml (finance + invoices tables, rates file) and its exports in one folder."""
    raw = load_finance_mapping().model_dump(exclude_none=True)
    raw["tables"]["invoices"] = {
        "source": {"kind": "csv", "path": "invoices.csv"},
        "columns": {
            "invoice_id": "invoice_no",
            "erp_customer_id": "customer_number",
            "issue_date": {"source": "issued", "format": "%Y-%m-%d"},
            "due_date": {"source": "due", "format": "%Y-%m-%d"},
            "paid_date": {"source": "paid", "format": "%Y-%m-%d", "optional": True},
            "amount": "gross_amount",
            "currency": "currency",
            "status": "status",
        },
    }
    raw["rates"] = {"kind": "file", "path": "rates.csv"}
    (tmp_path / "finance.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    (tmp_path / "finance.csv").write_text(ROWS + FILLER, encoding="utf-8")
    (tmp_path / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    (tmp_path / "rates.csv").write_text("currency,corporate_per_unit\nUSD,0.9\n", encoding="utf-8")
    return tmp_path


def cached(project: Path, as_of: date = AS_OF) -> FinanceLoad:
    mapping = project / "finance.yaml"
    return load_finance_cached(
        mapping, mapping_path=mapping, base_dir=project, as_of=as_of, cache_dir=project / "cache"
    )


def fresh(project: Path, as_of: date = AS_OF) -> FinanceLoad:
    return load_finance(project / "finance.yaml", base_dir=project, as_of=as_of)


def assert_same(got: FinanceLoad, want: FinanceLoad) -> None:
    pd.testing.assert_frame_equal(got.frame, want.frame, check_exact=True)
    assert got.invoices is not None and want.invoices is not None
    pd.testing.assert_frame_equal(got.invoices, want.invoices, check_exact=True)
    pd.testing.assert_frame_equal(got.quarantine, want.quarantine, check_exact=True)
    assert got.stats == want.stats
    assert got.corporate_currency == want.corporate_currency


def swap_keeping_size_and_mtime(path: Path, old: str, new: str) -> None:
    """Other content, same size, same mtime: invisible to the cache's key."""
    assert len(old) == len(new)
    stat = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    assert path.stat().st_size == stat.st_size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def touch(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def revenue_of(loaded: FinanceLoad, erp: str) -> float:
    frame = loaded.frame
    return float(frame.loc[frame["erp_customer_id"] == erp, "revenue"].sum())


def cached_hit(
    project: Path, caplog: pytest.LogCaptureFixture, as_of: date = AS_OF
) -> tuple[FinanceLoad, bool]:
    """`cached(project)`, and whether the cache answered (its log line says so)."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="connectors.finance.cache"):
        loaded = cached(project, as_of)
    return loaded, "loaded from the cache" in caplog.text


def test_a_hit_returns_what_load_finance_returns(project: Path, caplog):
    first, was_hit = cached_hit(project, caplog)
    assert not was_hit
    assert_same(first, fresh(project))
    assert len(first.quarantine) == 1  # the quarantine survives the round trip too
    touch(project / "finance.csv")  # a new mtime alone is the same content
    hit, was_hit = cached_hit(project, caplog)
    assert was_hit
    assert_same(hit, first)  # dtypes included: object text, "str" month, float amounts


def test_an_export_edited_with_the_same_size_and_mtime_is_read_again(project: Path, caplog):
    cached(project)
    swap_keeping_size_and_mtime(project / "finance.csv", "200.00", "999.00")
    edited, was_hit = cached_hit(project, caplog)
    assert not was_hit
    assert revenue_of(edited, "C2") == 999.0
    assert_same(edited, fresh(project))


@pytest.mark.parametrize("change", ["mapping", "as_of", "invoices", "rates"])
def test_a_changed_input_reloads(project: Path, change: str, caplog):
    cached(project)
    as_of = AS_OF
    if change == "mapping":
        with (project / "finance.yaml").open("a", encoding="utf-8") as fh:
            fh.write("# edited\n")
    elif change == "as_of":
        as_of = date(2026, 6, 15)
    elif change == "invoices":
        swap_keeping_size_and_mtime(project / "invoices.csv", "238.00", "239.00")
    else:
        swap_keeping_size_and_mtime(project / "rates.csv", "USD,0.9", "USD,0.8")
    reloaded, was_hit = cached_hit(project, caplog, as_of)
    assert not was_hit
    assert_same(reloaded, fresh(project, as_of))


def test_one_entry_per_mapping_file(project: Path):
    cached(project)
    swap_keeping_size_and_mtime(project / "finance.csv", "200.00", "999.00")
    cached(project)
    files = sorted(p.name for p in (project / "cache").iterdir())
    assert len(files) == 4, files  # the manifest + frame, invoices, quarantine
    assert not [name for name in files if name.endswith(".tmp")]


@pytest.mark.parametrize("damage", ["frame", "manifest", "missing"])
def test_a_damaged_entry_is_rebuilt(project: Path, damage: str, caplog):
    cached(project)
    cache = project / "cache"
    if damage == "manifest":
        next(cache.glob("*.json")).write_text("{not json", encoding="utf-8")
    elif damage == "frame":
        next(cache.glob("*-frame.parquet")).write_bytes(b"PAR1 garbage")
    else:
        next(cache.glob("*-invoices.parquet")).unlink()
    rebuilt, was_hit = cached_hit(project, caplog)
    assert not was_hit  # read from the files again
    assert_same(rebuilt, fresh(project))
    again, was_hit = cached_hit(project, caplog)
    assert was_hit  # and cached again
    assert_same(again, rebuilt)


def test_a_failed_load_is_not_cached(project: Path):
    text = (project / "finance.csv").read_text(encoding="utf-8")
    (project / "finance.csv").write_text(text.replace("1.00,0.50", "x.00,0.50"), encoding="utf-8")
    with pytest.raises(FinanceDataError):
        cached(project)
    assert not (project / "cache").exists() or not any((project / "cache").iterdir())
    (project / "finance.csv").write_text(text.splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="header but no rows"):
        cached(project)
    assert not (project / "cache").exists() or not any((project / "cache").iterdir())


def test_a_sql_source_is_never_cached(tmp_path: Path, monkeypatch):
    url = f"sqlite:///{tmp_path}/erp.db"
    engine = sa.create_engine(url)
    pd.DataFrame(
        {
            "erp_customer_id": ["C1"],
            "period": ["2026-05"],
            "revenue": [10.0],
            "cost_of_delivery": [1.0],
            "currency": ["EUR"],
        }
    ).to_sql("monthly", engine, index=False)
    engine.dispose()
    monkeypatch.setenv("ERP_URL", url)
    raw = load_finance_mapping().model_dump(exclude_none=True)
    raw["tables"]["finance"]["source"] = {
        "kind": "sql",
        "url_env": "ERP_URL",
        "query": "select * from monthly",
    }
    mapping = tmp_path / "finance.yaml"
    mapping.write_text(yaml.safe_dump(raw), encoding="utf-8")
    cache = tmp_path / "cache"
    for _ in range(2):
        loaded = load_finance_cached(
            mapping, mapping_path=mapping, base_dir=tmp_path, as_of=AS_OF, cache_dir=cache
        )
        assert loaded.frame["revenue"].tolist() == [10.0]
    assert not cache.exists()
