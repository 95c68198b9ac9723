"""Populations of a given shape, built from per-account monthly economics.

Each account is described by its 24 months of revenue and cost of delivery (the 24 months
before AS_OF), a few attributes, tickets and payment delay; `frames` turns a list of them
into the canonical tables. `shape` draws the populations of issue 15: single, identical,
all-loss, outlier, cost-only, prospect, closed-won and no size bands.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd

AS_OF = date(2025, 7, 1)
MONTHS = pd.period_range("2023-07", "2025-06", freq="M")
INDUSTRIES = ("Machinery", "Manufacturing", "Electronics", "Retail", "Consulting")
SHAPES = ("mixed", "single", "identical", "all_loss", "outlier", "cost_only", "prospect",
          "closed_won", "no_size_bands")  # fmt: skip


@dataclass(frozen=True)
class Acct:
    """One account: monthly revenue and cost (24 values each, oldest first) and attributes."""

    account_id: str
    revenue: np.ndarray = field(default_factory=lambda: np.zeros(24))
    cost: np.ndarray = field(default_factory=lambda: np.zeros(24))
    industry: str | None = "Machinery"
    employees: float = 120.0
    region: str = "Germany"
    created_at: str | None = "2020-01-15"
    tickets: int = 0
    late_days: float = 0.0
    open_deal: float | None = None
    won_deal: float | None = None


def steady(account_id: str, monthly: float, margin: float, **kw: object) -> Acct:
    """A customer buying every month for 24 months at `monthly`, with margin share `margin`."""
    revenue = np.full(24, round(monthly, 2))
    return Acct(account_id, revenue, np.round(revenue * (1 - margin), 2), **kw)  # type: ignore[arg-type]


def frames(accounts: list[Acct]) -> dict[str, pd.DataFrame]:
    """Canonical tables for the accounts."""
    acc = pd.DataFrame({
        "account_id": [a.account_id for a in accounts],
        "name": [f"Company {i}" for i in range(len(accounts))],
        "industry": [a.industry for a in accounts],
        "employees": [a.employees for a in accounts],
        "region": [a.region for a in accounts],
        "created_at": pd.to_datetime([a.created_at for a in accounts]),
    })  # fmt: skip
    fin, inv, tix, opp = [], [], [], []
    for a in accounts:
        for m in range(24):
            if a.revenue[m] > 0 or a.cost[m] > 0:
                fin.append((a.account_id, str(MONTHS[m]), a.revenue[m], a.cost[m]))
            if a.revenue[m] > 0:
                issue = MONTHS[m].to_timestamp()
                due = issue + pd.Timedelta(days=30)
                paid = due + pd.Timedelta(days=round(a.late_days))
                inv.append((a.account_id, issue, due, paid if paid < pd.Timestamp(AS_OF) else None,
                            a.revenue[m]))  # fmt: skip
        for t in range(a.tickets):
            tix.append((a.account_id, pd.Timestamp("2024-08-01") + pd.Timedelta(days=20 * t)))
        if a.open_deal is not None:
            opp.append((a.account_id, a.open_deal, False, False, "2025-09-30", "new"))
        if a.won_deal is not None:
            opp.append((a.account_id, a.won_deal, True, True, "2025-03-10", "new"))
    finance = pd.DataFrame(fin, columns=["account_id", "period", "revenue", "cost_of_delivery"])
    invoices = pd.DataFrame(inv, columns=["account_id", "issue_date", "due_date", "paid_date",
                                          "amount"])  # fmt: skip
    invoices["invoice_id"] = [f"I{i}" for i in range(len(invoices))]
    invoices["status"] = np.where(invoices["paid_date"].isna(), "open", "paid")
    invoices["paid_date"] = pd.to_datetime(invoices["paid_date"])
    tickets = pd.DataFrame(tix, columns=["account_id", "created_at"])
    tickets["ticket_id"] = [f"T{i}" for i in range(len(tickets))]
    tickets["priority"] = "high"
    tickets["effort_hours"] = 2.0
    opps = pd.DataFrame(opp, columns=["account_id", "amount", "is_closed", "is_won", "close_date",
                                      "type"])  # fmt: skip
    opps["opportunity_id"] = [f"O{i}" for i in range(len(opps))]
    opps["close_date"] = pd.to_datetime(opps["close_date"])
    opps["stage"] = np.where(opps["is_closed"], "Closed Won", "Proposal")
    return {"accounts": acc, "finance": finance, "invoices": invoices, "tickets": tickets,
            "opportunities": opps}  # fmt: skip


def _random(rng: np.random.Generator, i: int, loss: bool = False) -> Acct:
    monthly = float(np.round(np.exp(rng.normal(8.5, 0.8)), 2))
    margin = float(rng.uniform(-0.4, -0.02) if loss else rng.uniform(-0.1, 0.45))
    active = rng.random(24) < rng.uniform(0.6, 1.0)
    active[-1] = True
    revenue = np.round(np.where(active, monthly * rng.uniform(0.7, 1.3, 24), 0.0), 2)
    return Acct(
        f"A{i:04d}", revenue, np.round(revenue * (1 - margin), 2),
        industry=INDUSTRIES[int(rng.integers(0, len(INDUSTRIES)))],
        employees=float(np.round(np.exp(rng.normal(5, 1.2)))),
        tickets=int(rng.integers(0, 8)), late_days=float(rng.uniform(-2, 25)),
        open_deal=float(np.round(np.exp(rng.normal(10, 0.7)), -2)) if rng.random() < 0.4 else None,
    )  # fmt: skip


def shape(name: str, seed: int) -> list[Acct]:
    """A population of the named shape, drawn from the seed."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(15, 40))
    if name == "single":
        return [_random(rng, 0, loss=bool(rng.random() < 0.5))]
    if name == "identical":
        one = _random(rng, 0, loss=bool(rng.random() < 0.5))
        return [replace(one, account_id=f"A{i:04d}") for i in range(int(rng.integers(2, 25)))]
    if name == "all_loss":
        return [_random(rng, i, loss=True) for i in range(n)]
    pop = [_random(rng, i) for i in range(n)]
    if name == "outlier":
        big = steady("Z-OUTLIER", 80e6 / 12, -0.05, tickets=1, open_deal=5e6)
        pop.append(big)
    elif name == "cost_only":
        pop += [Acct(f"C{i}", cost=np.where(rng.random(24) < 0.5, 2000.0, 0.0), open_deal=2e4)
                for i in range(3)]  # fmt: skip
    elif name == "prospect":
        pop += [Acct(f"P{i}", industry=INDUSTRIES[i % 5], open_deal=float(rng.uniform(5e3, 5e5)))
                for i in range(5)]  # fmt: skip
        pop += [Acct("P-EMPTY", industry=None, employees=np.nan, created_at=None)]
    elif name == "closed_won":
        pop += [Acct(f"W{i}", won_deal=5e4, open_deal=None if i else 3e4) for i in range(3)]
        pop = [replace(a, won_deal=2e4) if i % 3 == 0 else a for i, a in enumerate(pop)]
    elif name == "no_size_bands":
        pop = [replace(a, employees=np.nan) for a in pop]
        pop += [Acct(f"P{i}", employees=np.nan, open_deal=4e4) for i in range(3)]
    return pop
