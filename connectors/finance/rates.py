"""Exchange rates into the corporate currency: from a rates CSV, or from the CRM's tables.

One convention everywhere (`mappings.finance.RATE_COLUMN`): a rate is units of the
corporate currency per one unit of the currency, so corporate = amount * rate. The rates
file says so in its header (`currency,corporate_per_unit[,date]`); a file with the old,
direction-less `rate` column is refused with what to write instead. Salesforce's
ConversionRate goes the other way (1 corporate unit = rate units) and is inverted here.

A rates frame has columns currency, rate, date (date empty = valid at any time). A dated
rate is in effect from its date until the next one for that currency (Salesforce's
DatedConversionRate: StartDate .. NextStartDate); an undated rate covers the dates before
the first dated one, and currencies with no dated rate at all.

https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_datedconversionrate.htm
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mappings.errors import DataError
from mappings.finance import RATE_COLUMN

RATE_COLUMNS = ["currency", "rate", "date"]


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
    """Read a rates CSV `currency,corporate_per_unit[,date]`; a bad line is a DataError."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise DataError(
            f"{path}: the rates file does not exist; check rates.path in finance.yaml."
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(
            f"{path}: the rates file cannot be read ({type(exc).__name__}); it must be a "
            f"UTF-8 CSV with the header currency,{RATE_COLUMN}[,date]."
        ) from None
    raw.columns = [c.strip().lower() for c in raw.columns]
    if "rate" in raw.columns and RATE_COLUMN not in raw.columns:
        raise DataError(
            f"{path}:1: the column 'rate' does not say which way a rate goes; rename it to "
            f"{RATE_COLUMN} (units of the corporate currency per one unit of the currency, "
            "e.g. USD,0.92 when the corporate currency is EUR). If the file holds rates the "
            "other way round (1 EUR = 1.09 USD, Salesforce's convention), write 1/rate."
        )
    missing = [c for c in ("currency", RATE_COLUMN) if c not in raw.columns]
    if missing:
        raise DataError(
            f"{path}:1: the rates file lacks column(s) {', '.join(missing)}; its header must "
            f"be currency,{RATE_COLUMN}[,date] (date as YYYY-MM-DD)."
        )
    return normalise_rates(raw.rename(columns={RATE_COLUMN: "rate"}), label=str(path),
                           first_line=2)  # fmt: skip


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
    (IsoCode, ConversionRate, StartDate) records, as pulled by the caller, in valuesync's
    convention: ConversionRate is units of the currency per corporate unit, so inverted."""
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
    frame = pd.concat(parts, ignore_index=True)
    per_corporate = pd.to_numeric(frame["rate"], errors="coerce")
    frame["rate"] = 1.0 / per_corporate.where(per_corporate > 0)
    return normalise_rates(frame, label="Salesforce currency rates")


def convert(
    frame: pd.DataFrame,
    amounts: list[str],
    dates: pd.Series,
    rates: pd.DataFrame,
    corporate: str,
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
    factor = rate  # corporate_per_unit: corporate = amount * rate
    out = frame.copy(deep=False)  # columns are replaced, never written into
    for col in amounts:
        out[col] = out[col].astype("float64") * factor
    out["currency"] = corporate
    return out, missing
