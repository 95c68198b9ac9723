"""The monthly finance export (one row per ERP customer and month) of the sample data.

Besides the canonical finance columns it carries the ERP's `customer_name` and `domain`
(mappings/finance.yaml reads both), which the finance join falls back on. Figures are in
the corporate currency (EUR), as a management-accounting export is; invoices are in the
customer's currency. The export is built so that join has work to do:
~2 % of ERP customers match no CRM account, ~3 % of accounts have no finance rows, and
some accounts lack an erp_id in the CRM, so they match only by domain or by normalised
name. Customers A and B (the seed pair) get exact trailing-12-month figures.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from connectors.sandbox.sampledata_people import (
    ARCHETYPES,
    DESCRIPTORS,
    LEGAL,
    PARAMS,
    Population,
    take_str,
)

MONTHS = 36
"""Length of the export: the 36 months up to and including the month of `as_of`."""
NO_FINANCE_SHARE = 0.03
MATCH_BY_DOMAIN_SHARE = 0.02
MATCH_BY_NAME_SHARE = 0.02
UNMATCHED_SHARE = 0.02
SURNAMES = (
    "Brandt", "Keller", "Hoffmann", "Lorenz", "Vogel", "Winter", "Sommer", "Hartmann",
    "Krause", "Schuster", "Jansen", "Peeters", "Moreau", "Rossi", "Garcia", "Walsh", "Murphy",
    "Carter", "Novak", "Berger",
)  # fmt: skip

A_REVENUE = [8333.33] * 11 + [8333.37]
A_COST = [5416.67] * 11 + [5416.63]
B_REVENUE = [0.0, 21000, 3500, 0, 17800, 9200, 0, 26500, 4000, 0, 12000, 6000]
B_COST = [0.0, 19950, 2100, 0, 16900, 7600, 0, 24100, 2900, 0, 10200, 4250]
"""A: €100,000 revenue and €35,000 margin, even months; B: €100,000 and €12,000, erratic."""


def periods(as_of: date, months: int = MONTHS) -> list[str]:
    """The export's periods, oldest first, as YYYY-MM."""
    end = pd.Period(as_of, freq="M")
    return [str(end - k) for k in range(months - 1, -1, -1)]


def make_finance(
    rng: np.random.Generator, pop: Population, as_of: date
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The finance export and what was planted in it (fields of GroundTruth)."""
    n = pop.size
    order = rng.permutation(np.arange(2, n))
    k_none, k_dom, k_name = (max(1, round(s * n)) if n > 40 else 0 for s in _shares())
    no_fin = np.sort(order[:k_none])
    by_dom = np.sort(order[k_none : k_none + k_dom])
    by_name = np.sort(order[k_none + k_dom : k_none + k_dom + k_name])
    keep = np.setdiff1d(np.arange(n), no_fin)
    acc = pop.accounts
    names = acc["name"].to_numpy(dtype=object).copy()
    domains = acc["domain"].to_numpy(dtype=object).copy()
    names[by_dom] = _trading_names(acc["name"].to_numpy(dtype=object)[by_dom])
    names[by_name] = _shouted_names(acc["name"].to_numpy(dtype=object)[by_name])
    domains[by_dom] = "https://www." + domains[by_dom]
    domains[by_name] = None
    acc.loc[np.concatenate([by_dom, by_name]), "erp_id"] = None
    cust = {
        "erp": pop.erp[keep],
        "name": names[keep],
        "domain": domains[keep],
        "kind": pop.kind[keep],
        "revenue": pop.revenue_t12[keep],
        "margin": pop.margin[keep],
        "start": np.maximum(0, MONTHS - pop.tenure_months[keep]),
    }
    extra = _unmatched(rng, max(1, round(UNMATCHED_SHARE * len(keep) / (1 - UNMATCHED_SHARE))))
    cust = {k: np.concatenate([v, extra[k]]) for k, v in cust.items()}
    frame = _monthly_rows(rng, cust, periods(as_of))
    _set_pair(frame, MONTHS - cust["start"][:2])
    keys = acc["account_id"].to_numpy(dtype=object)
    truth = {
        "unmatched_erp_ids": tuple(extra["erp"]),
        "accounts_without_finance": tuple(keys[no_fin]),
        "match_by_domain": tuple(keys[by_dom]),
        "match_by_name": tuple(keys[by_name]),
    }
    return frame, truth


def _shares() -> tuple[float, float, float]:
    return NO_FINANCE_SHARE, MATCH_BY_DOMAIN_SHARE, MATCH_BY_NAME_SHARE


def _trading_names(names: np.ndarray) -> np.ndarray:
    """The ERP's billing name: the brand plus "Vertrieb" (no normalisation makes it equal)."""
    s = pd.Series(names, dtype=object).str.rsplit(" ", n=1)
    return np.asarray((s.str[0] + " Vertrieb " + s.str[1]).to_numpy(dtype=object))


def _shouted_names(names: np.ndarray) -> np.ndarray:
    """Upper case with a comma before the legal form: equal only after normalisation."""
    s = pd.Series(names, dtype=object).str.rsplit(" ", n=1)
    return np.asarray((s.str[0].str.upper() + ", " + s.str[1].str.upper()).to_numpy(dtype=object))


def _unmatched(rng: np.random.Generator, k: int) -> dict[str, np.ndarray]:
    """ERP customers that exist in no CRM (e.g. sold through a channel the CRM never saw)."""
    region = np.asarray(list(LEGAL), dtype=object)[rng.integers(0, len(LEGAL), k)]
    sur = np.asarray(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), k)]
    desc = np.asarray(DESCRIPTORS, dtype=object)[rng.integers(0, len(DESCRIPTORS), k)]
    num = np.arange(1, k + 1).astype(str).astype(object)
    legal = np.array([LEGAL[r][0] for r in region], dtype=object)
    tld = np.array([LEGAL[r][1] for r in region], dtype=object)
    noise = ARCHETYPES.index("noise")
    return {
        "erp": np.char.add("C9", np.char.zfill(num.astype(str), 6)).astype(object),
        "name": sur + " " + desc + " " + num + " " + legal,
        "domain": np.char.lower((sur + "-" + desc + num + "." + tld).astype(str)).astype(object),
        "kind": np.full(k, noise),
        "revenue": 40_000.0 * np.exp(rng.normal(0, 0.7, k)),
        "margin": rng.normal(0.2, 0.08, k),
        "start": rng.integers(0, MONTHS - 6, k),
    }


def _monthly_rows(
    rng: np.random.Generator, cust: dict[str, np.ndarray], labels: list[str]
) -> pd.DataFrame:
    """One row per customer and month from its start month on, drawn from its archetype."""
    counts = MONTHS - cust["start"]
    c = np.repeat(np.arange(len(counts)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    month = cust["start"][c] + (np.arange(len(c)) - first)
    kind = cust["kind"][c]
    level = cust["revenue"][c] / 12 * np.exp(PARAMS.of("growth", kind) * (month - 29.5))
    sigma = np.sqrt(np.log1p(PARAMS.of("revenue_cv", kind) ** 2))
    zero_p = PARAMS.of("zero_month_p", kind)
    noise = np.exp(rng.normal(-(sigma**2) / 2, sigma)) / (1 - zero_p)
    revenue = np.round(np.where(rng.random(len(c)) < zero_p, 0.0, level * noise), 2)
    margin = cust["margin"][c] + rng.normal(0, PARAMS.of("margin_sd", kind) / 2)
    cost = np.round(revenue * (1 - margin), 2)
    is_first = np.arange(len(c)) == first
    acq_share = np.where(kind == ARCHETYPES.index("loud"), 0.6, 0.25)
    acquisition = np.where(
        is_first,
        np.round(cust["revenue"][c] * acq_share * rng.uniform(0.5, 1.5, len(c)), 2),
        np.nan,
    )
    return pd.DataFrame(
        {
            "account_id": np.full(len(c), None, dtype=object),
            "erp_customer_id": take_str(cust["erp"], c),
            "period": take_str(np.asarray(labels, dtype=object), month),
            "revenue": revenue,
            "cost_of_delivery": cost,
            "acquisition_cost": acquisition,
            "currency": take_str(np.array(["EUR"], dtype=object), np.zeros(len(c), dtype=int)),
            "customer_name": take_str(cust["name"], c),
            "domain": take_str(cust["domain"], c),
        }
    )


def _set_pair(frame: pd.DataFrame, counts: np.ndarray) -> None:
    """Exact trailing-12-month revenue and cost for customers A and B (the first two customers)."""
    a_end, b_end = counts[0], counts[0] + counts[1]
    for last, revenue, cost in ((a_end, A_REVENUE, A_COST), (b_end, B_REVENUE, B_COST)):
        rows = np.arange(last - 12, last)
        frame.loc[rows, "revenue"] = revenue
        frame.loc[rows, "cost_of_delivery"] = cost
