"""Exchange rates into the corporate currency: from a rates CSV, or from the CRM's tables.

A rates frame has columns currency, rate, date (date empty = valid at any time). A dated
rate is in effect from its date until the next one for that currency (Salesforce's
DatedConversionRate: StartDate .. NextStartDate); an undated rate covers the dates before
the first dated one, and currencies with no dated rate at all.

https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_datedconversionrate.htm
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from mappings.errors import DataError

RATE_COLUMNS = ["currency", "rate", "date"]
Direction = Literal["currency_per_corporate", "corporate_per_currency"]


def empty_rates() -> pd.DataFrame:
    """A rates frame with no rows."""
    return pd.DataFrame(
        {
            "currency": pd.Series(dtype=object),
            "rate": pd.Series(dtype="float64"),
            "date": pd.Series(dtype="datetime64[ns]"),
        }
    )


def load_rates_file(path: Path) -> pd.DataFrame:
    """Read a rates CSV `currency,rate[,date]`; any bad line is a DataError naming it."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise DataError(
            f"{path}: the rates file does not exist; check rates.path in finance.yaml."
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(
            f"{path}: the rates file cannot be read ({type(exc).__name__}); it must be a "
            "UTF-8 CSV with the header currency,rate[,date]."
        ) from None
    raw.columns = [c.strip().lower() for c in raw.columns]
    missing = [c for c in ("currency", "rate") if c not in raw.columns]
    if missing:
        raise DataError(
            f"{path}:1: the rates file lacks column(s) {', '.join(missing)}; its header must "
            "be currency,rate[,date] (date as YYYY-MM-DD)."
        )
    return normalise_rates(raw, label=str(path), first_line=2)


def normalise_rates(
    frame: pd.DataFrame, *, label: str = "rates", first_line: int = 1
) -> pd.DataFrame:
    """Validate a caller's rates frame (currency, rate[, date]) into the standard shape."""
    currency = frame["currency"].astype("string").str.strip().str.upper()
    rate = pd.to_numeric(frame["rate"], errors="coerce")
    if "date" in frame.columns:
        text = frame["date"].astype("string").str.strip().replace("", pd.NA)
        date = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        date = date.dt.tz_convert(None).dt.normalize()
        bad_date = (text.notna() & date.isna()).to_numpy(dtype=bool)
    else:
        date = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
        bad_date = np.zeros(len(frame), dtype=bool)
    problems = [
        (
            ~currency.str.fullmatch(r"[A-Z]{3}").fillna(False).to_numpy(),
            "currency",
            "an ISO 4217 code",
        ),
        (~(rate > 0).fillna(False).to_numpy(), "rate", "a positive number"),
        (bad_date, "date", "a date YYYY-MM-DD or empty"),
    ]
    for mask, column, want in problems:
        if mask.any():
            lines = (np.flatnonzero(mask) + first_line)[:5]
            raise DataError(
                f"{label}: line(s) {', '.join(map(str, lines))} have a bad {column}; it must be "
                f"{want}. Fix the rates and run again."
            )
    out = pd.DataFrame(
        {"currency": currency.astype(object), "rate": rate.astype("float64"), "date": date}
    )
    return out.reset_index(drop=True)


def rates_from_salesforce(
    currency_types: pd.DataFrame, dated_rates: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Rates from Salesforce CurrencyType (IsoCode, ConversionRate) and DatedConversionRate
    (IsoCode, ConversionRate, StartDate) records, as pulled by the caller."""
    parts = [
        pd.DataFrame(
            {"currency": currency_types["IsoCode"], "rate": currency_types["ConversionRate"]}
        )
    ]
    if dated_rates is not None and len(dated_rates):
        parts.append(
            pd.DataFrame(
                {
                    "currency": dated_rates["IsoCode"],
                    "rate": dated_rates["ConversionRate"],
                    "date": dated_rates["StartDate"],
                }
            )
        )
    return normalise_rates(pd.concat(parts, ignore_index=True), label="Salesforce currency rates")


def convert(
    frame: pd.DataFrame,
    amounts: list[str],
    dates: pd.Series,
    rates: pd.DataFrame,
    corporate: str,
    direction: Direction,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Amounts in the corporate currency, and a mask of rows whose currency has no rate."""
    currency = frame["currency"].astype(object)
    rate = pd.Series(np.nan, index=frame.index, dtype="float64")
    dated = rates[rates["date"].notna()].sort_values("date")
    if len(dated):
        left = pd.DataFrame({"date": dates.astype("datetime64[ns]"), "currency": currency})
        left["_row"] = np.arange(len(left))
        left = left[left["date"].notna()].sort_values("date")
        hit = pd.merge_asof(
            left,
            dated[["date", "currency", "rate"]].astype({"date": "datetime64[ns]"}),
            on="date",
            by="currency",
            direction="backward",
        )
        rate.iloc[hit["_row"].to_numpy()] = hit["rate"].to_numpy()
    undated = rates[rates["date"].isna()].drop_duplicates("currency", keep="last")
    rate = rate.fillna(currency.map(undated.set_index("currency")["rate"]).astype("float64"))
    rate = rate.mask(currency == corporate, 1.0)
    missing = rate.isna().to_numpy()
    factor = 1.0 / rate if direction == "currency_per_corporate" else rate
    out = frame.copy(deep=False)  # columns are replaced, never written into
    for col in amounts:
        out[col] = out[col].astype("float64") * factor
    out["currency"] = corporate
    return out, missing
