"""Seeded sample data for the sandbox CRM: canonical frames with a meaningful value matrix.

`generate(accounts, seed)` returns the five canonical tables (mappings/canonical.py) for
a population of customer archetypes with distinct margin, effort, payment, fit and
recurrence, plus the seed pair of customers ("A" and "B": the same
€100,000 trailing-12-month revenue, very different value). Everything is vectorised
with one numpy Generator, so the same seed always gives the same frames.

Column types: str columns are pandas strings (NA when empty), datetimes are
`datetime64[..., UTC]`, dates are naive `datetime64` at midnight (NaT when empty),
`period` is a "YYYY-MM" string, floats are float64, ints int64, flags bool. Account
keys are stable sample keys ("S0000001"); the loaders assign each CRM's own ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from connectors.sandbox import sampledata_activity as activity
from connectors.sandbox import sampledata_finance as finance
from connectors.sandbox.sampledata_people import (
    ARCHETYPES,
    EUR_RATE,
    Population,
    make_population,
)

CUSTOMER_A = "S0000001"
CUSTOMER_B = "S0000002"


@dataclass(frozen=True)
class GroundTruth:
    """What the generator planted, for tests and the demo (never loaded into a CRM)."""

    customer_a: str = CUSTOMER_A
    customer_b: str = CUSTOMER_B
    archetype: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    """account key -> archetype name (`pair`, core, loud, grower, noise)."""
    unmatched_erp_ids: tuple[str, ...] = ()
    """ERP customers in the finance export that match no CRM account."""
    accounts_without_finance: tuple[str, ...] = ()
    match_by_domain: tuple[str, ...] = ()
    """Accounts without erp_id on the CRM side whose finance rows carry their domain."""
    match_by_name: tuple[str, ...] = ()
    """Accounts without erp_id and domain in finance: only the normalised name matches."""
    erp_of: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    """account key -> the ERP customer id finance uses (also when the CRM lacks it)."""


@dataclass(frozen=True)
class SampleData:
    """The canonical sample tables and what was planted in them."""

    accounts: pd.DataFrame
    opportunities: pd.DataFrame
    tickets: pd.DataFrame
    invoices: pd.DataFrame
    finance: pd.DataFrame
    truth: GroundTruth
    seed: int
    as_of: date

    def tables(self) -> dict[str, pd.DataFrame]:
        """Canonical table name -> frame, in load order."""
        return {
            "accounts": self.accounts,
            "opportunities": self.opportunities,
            "tickets": self.tickets,
            "invoices": self.invoices,
            "finance": self.finance,
        }


def generate(accounts: int, seed: int = 7, as_of: date = date(2026, 6, 30)) -> SampleData:
    """A deterministic sample population of `accounts` customers (at least 2: A and B)."""
    if accounts < 2:
        raise ValueError("the sample needs at least 2 accounts (customers A and B)")
    rng = np.random.default_rng(seed)
    pop = make_population(rng, accounts, as_of)
    fin, fin_truth = finance.make_finance(rng, pop, as_of)
    opps = activity.make_opportunities(rng, pop, as_of)
    tickets = activity.make_tickets(rng, pop, as_of)
    invoices = activity.make_invoices(rng, pop, as_of)
    truth = GroundTruth(
        archetype=pd.Series(
            np.asarray(ARCHETYPES, dtype=object)[pop.kind], index=pop.accounts["account_id"]
        ),
        erp_of=pd.Series(pop.erp, index=pop.accounts["account_id"]),
        **fin_truth,
    )
    return SampleData(
        accounts=pop.accounts,
        opportunities=opps,
        tickets=tickets,
        invoices=invoices,
        finance=fin,
        truth=truth,
        seed=seed,
        as_of=as_of,
    )


def write_files(
    data: SampleData, directory: Path | str, fmt: Literal["csv", "parquet"] = "csv"
) -> list[Path]:
    """Write the five tables as `accounts.csv` ... `finance.csv` (or `.parquet`) and
    `rates.csv`; return the paths.

    `finance.csv` is the monthly export an ops admin drops in for the finance join;
    `rates` (currency, rate: EUR per unit) lets `valuesync score DIR` convert the USD and
    GBP deals and invoices.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"unknown format {fmt!r}: use 'csv' or 'parquet'")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for name, frame in {**data.tables(), "rates": rates_frame()}.items():
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            _for_csv(frame).to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        paths.append(path)
    return paths


def rates_frame() -> pd.DataFrame:
    """Conversion rates of the sample currencies: EUR per unit of each."""
    return pd.DataFrame(
        {"currency": list(EUR_RATE), "rate": [round(1 / r, 6) for r in EUR_RATE.values()]}
    )


def _for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """Datetimes as ISO-8601 UTC with a Z, dates as YYYY-MM-DD, empty cells for NaT."""
    out = frame.copy()
    for col, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype):
            out[col] = frame[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif pd.api.types.is_datetime64_dtype(dtype):
            out[col] = frame[col].dt.strftime("%Y-%m-%d")
    return out


__all__ = ["CUSTOMER_A", "CUSTOMER_B", "GroundTruth", "Population", "SampleData", "generate"]
