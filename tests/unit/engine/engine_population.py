"""A small generated population of canonical frames, with the seed example's customers A and B.

A: €100,000 revenue, €35,000 contribution margin, one low-priority ticket, pays early, ICP
industry / size / region, revenue every month. B: €100,000 revenue, €12,000 margin, many
urgent tickets with escalations and special requests, pays late, erratic revenue, outside
the ICP. Everyone else is drawn at random around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

AS_OF = date(2025, 7, 1)
MONTHS = pd.period_range("2023-07", "2025-06", freq="M")
INDUSTRIES = np.array(["Machinery", "Manufacturing", "Electronics", "Retail", "Consulting",
                       "Shipping"], dtype=object)  # fmt: skip
REGIONS = np.array(["Germany", "Austria", "Switzerland", "Ireland", "France"], dtype=object)
A, B = "ACC-A", "ACC-B"


@dataclass(frozen=True)
class Draw:
    """Per-account parameters of the generator (arrays of length n)."""

    revenue: np.ndarray
    margin: np.ndarray
    cv: np.ndarray
    active_p: np.ndarray
    tickets: np.ndarray
    escalation_p: np.ndarray
    special_p: np.ndarray
    late_days: np.ndarray


def make_population(n: int = 300, seed: int = 7, prospects: int = 20) -> dict[str, pd.DataFrame]:
    """Canonical frames for `n` customers (A and B first) and `prospects` new logos."""
    rng = np.random.default_rng(seed)
    draw = _draw(rng, n)
    accounts = _accounts(rng, n, prospects)
    ids = accounts["account_id"].to_numpy()[:n]
    return {
        "accounts": accounts,
        "finance": _finance(rng, ids, draw),
        "tickets": _tickets(rng, ids, draw),
        "invoices": _invoices(rng, ids, draw),
        "opportunities": _opportunities(rng, accounts["account_id"].to_numpy(), n),
    }


def _draw(rng: np.random.Generator, n: int) -> Draw:
    d = Draw(
        revenue=np.round(100_000 * np.exp(rng.normal(0, 0.6, n)), -2),
        margin=rng.uniform(0.15, 0.33, n),
        cv=rng.uniform(0.05, 0.5, n),
        active_p=rng.uniform(0.75, 1.0, n),
        tickets=rng.integers(1, 12, n).astype(float),
        escalation_p=rng.uniform(0.02, 0.2, n),
        special_p=rng.uniform(0.02, 0.25, n),
        late_days=rng.uniform(-3, 20, n),
    )
    for arr, a, b in ((d.revenue, 100_000, 100_000), (d.margin, 0.35, 0.12), (d.cv, 0.0, 0.9),
                      (d.active_p, 1.0, 0.7), (d.tickets, 1, 20), (d.escalation_p, 0.0, 0.45),
                      (d.special_p, 0.0, 0.4), (d.late_days, -2, 25)):  # fmt: skip
        arr[0], arr[1] = a, b
    return d


def _accounts(rng: np.random.Generator, n: int, prospects: int) -> pd.DataFrame:
    total = n + prospects
    ids = np.array([f"ACC-{i:05d}" for i in range(total)], dtype=object)
    ids[:2] = (A, B)
    industry = INDUSTRIES[rng.integers(0, len(INDUSTRIES), total)]
    region = REGIONS[rng.integers(0, len(REGIONS), total)]
    employees = np.round(np.exp(rng.normal(5.3, 1.0, total))).astype(float)
    industry[:2], region[:2], employees[:2] = (
        ("Machinery", "Retail"),
        ("Germany", "Ireland"),
        (180, 2400),
    )
    created = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1200, total), unit="D")
    return pd.DataFrame({
        "account_id": ids, "name": [f"Company {i}" for i in range(total)], "industry": industry,
        "employees": employees, "region": region, "created_at": created,
        "erp_id": [f"ERP{i:05d}" for i in range(total)],
    })  # fmt: skip


def _finance(rng: np.random.Generator, ids: np.ndarray, d: Draw) -> pd.DataFrame:
    n, m = len(ids), len(MONTHS)
    noise = np.maximum(1 + d.cv[:, None] * rng.normal(0, 1, (n, m)), 0.05)
    active = rng.random((n, m)) < d.active_p[:, None]
    active[:, -1] = True  # every customer bought last month
    raw = noise * active
    rev = raw / raw[:, 12:].sum(axis=1, keepdims=True) * d.revenue[:, None]
    if n > 1:  # B: erratic, with quiet months; totals still exact
        rev[1] = np.array([0, 18, 0, 2, 30, 0, 1, 25, 0, 3, 20, 1] * 2, dtype=float)
        rev[1] = rev[1] / rev[1][12:].sum() * 100_000
    rev = _to_cents(rev, d.revenue)
    cost = _to_cents(rev * (1 - d.margin[:, None]), d.revenue * (1 - d.margin))
    keep = rev > 0
    row, col = np.nonzero(keep)
    return pd.DataFrame({
        "account_id": ids[row], "period": MONTHS[col].astype(str), "revenue": rev[keep],
        "cost_of_delivery": cost[keep], "currency": "EUR",
    })  # fmt: skip


def _to_cents(monthly: np.ndarray, last_12m: np.ndarray) -> np.ndarray:
    """Whole cents per month; the last month absorbs the rounding so 12-month totals are exact."""
    out = np.round(monthly, 2)
    out[:, -1] += np.round(last_12m, 2) - out[:, 12:].sum(axis=1)
    return np.round(out, 2)


def _tickets(rng: np.random.Generator, ids: np.ndarray, d: Draw) -> pd.DataFrame:
    counts = d.tickets.astype(int)
    owner = np.repeat(np.arange(len(ids)), counts)
    k = len(owner)
    created = pd.Timestamp("2024-07-01") + pd.to_timedelta(rng.integers(0, 364, k), unit="D")
    priority = np.array(["low", "medium", "high", "urgent"], dtype=object)[rng.integers(0, 4, k)]
    priority[owner == 0] = "low"
    priority[owner == 1] = "urgent"
    escalated = rng.random(k) < d.escalation_p[owner]
    special = rng.random(k) < d.special_p[owner]
    esc_b = np.flatnonzero(owner == 1)
    escalated[esc_b] = np.arange(len(esc_b)) < 9
    special[esc_b] = np.arange(len(esc_b)) >= 12
    effort = np.where(owner == 1, 6.0, np.where(owner == 0, 1.0, rng.uniform(0.5, 4, k)))
    return pd.DataFrame({
        "ticket_id": [f"T{i:06d}" for i in range(k)], "account_id": ids[owner],
        "created_at": created, "priority": priority, "is_escalation": escalated,
        "category": np.where(special, "special_request", "problem"), "effort_hours": effort,
    })  # fmt: skip


def _invoices(rng: np.random.Generator, ids: np.ndarray, d: Draw) -> pd.DataFrame:
    n = len(ids)
    starts = MONTHS[12:].to_timestamp()
    owner = np.repeat(np.arange(n), len(starts))
    issue = np.tile(starts.to_numpy(), n)
    due = issue + np.timedelta64(30, "D")
    late = np.rint(d.late_days[owner] + rng.normal(0, 3, len(owner)))
    late[owner < 2] = d.late_days[owner[owner < 2]]
    paid = due + late.astype("timedelta64[D]")
    paid = np.where(paid < np.datetime64(AS_OF), paid, np.datetime64("NaT"))
    return pd.DataFrame({
        "invoice_id": [f"I{i:07d}" for i in range(len(owner))], "account_id": ids[owner],
        "issue_date": issue, "due_date": due, "paid_date": pd.to_datetime(paid),
        "amount": np.round(d.revenue[owner] / 12, 2), "currency": "EUR",
        "status": np.where(pd.isna(paid), "open", "paid"),
    })  # fmt: skip


def _opportunities(rng: np.random.Generator, ids: np.ndarray, customers: int) -> pd.DataFrame:
    total = len(ids)
    renewal = np.arange(customers)
    open_ = np.arange(total)
    acc = np.concatenate([renewal, renewal, open_])
    kind = ["renewal"] * (2 * customers) + ["expansion"] * customers + ["new"] * (total - customers)
    closed = np.concatenate([np.ones(2 * customers, bool), np.zeros(total, bool)])
    close = np.concatenate([
        np.full(customers, np.datetime64("2024-09-15")),
        np.full(customers, np.datetime64("2025-03-10")),
        np.full(total, np.datetime64("2025-09-30")),
    ])  # fmt: skip
    k = len(acc)
    return pd.DataFrame({
        "opportunity_id": [f"OPP{i:06d}" for i in range(k)], "account_id": ids[acc],
        "name": [f"Deal {i}" for i in range(k)],
        "amount": np.round(np.exp(rng.normal(10.5, 0.7, k)), -2), "currency": "EUR",
        "stage": np.where(closed, "Closed Won", "Proposal"), "is_closed": closed,
        "is_won": closed, "close_date": pd.to_datetime(close), "type": kind,
    })  # fmt: skip
