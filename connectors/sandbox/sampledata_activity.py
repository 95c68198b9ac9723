"""Opportunities, tickets and invoices of the sample population, drawn per archetype.

Each table is built column-wise: per-account counts, `np.repeat` to rows, then one
vectorised draw per column. Customers A and B (rows 0 and 1 of the population) get
fixed, recognisable histories on top.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from connectors.sandbox.sampledata_finance import A_REVENUE, B_REVENUE
from connectors.sandbox.sampledata_people import (
    EUR_RATE,
    PARAMS,
    Population,
    as_of_end_s,
    take_str,
)

DAY = 86_400
OPEN_STAGES = ("prospecting", "qualification", "proposal", "negotiation")
PRIORITY_P = np.array(
    [
        [0.5, 0.35, 0.12, 0.03],
        [0.15, 0.35, 0.3, 0.2],
        [0.5, 0.35, 0.12, 0.03],
        [0.35, 0.4, 0.2, 0.05],
    ]
)
"""P(low, medium, high, urgent) per archetype."""
PRIORITIES = np.array(["low", "medium", "high", "urgent"], dtype=object)
CATEGORIES = np.array(["problem", "question", "feature_request", "special_request"], dtype=object)


def keys(prefix: str, n: int, width: int = 8) -> np.ndarray:
    """Sample keys `prefix` + zero-padded 1..n, vectorised."""
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width)).astype(object)


def _rate(pop: Population) -> np.ndarray:
    """Each account's currency units per EUR (sample revenue targets are in EUR)."""
    return np.asarray(pd.Series(pop.currency).map(EUR_RATE).to_numpy(dtype=float))


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row -> owning account index, and row -> position within its account."""
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    return owner, np.arange(len(owner)) - first


def _utc(seconds: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(seconds, unit="s", utc=True))


def _days(days: np.ndarray) -> pd.Series:
    """Days since the epoch (NaN for empty) -> datetime64 dates at midnight."""
    return pd.Series(pd.to_datetime(days, unit="D"))


def make_opportunities(rng: np.random.Generator, pop: Population, as_of: date) -> pd.DataFrame:
    """~3 deals per account: the first is the won new-logo deal, then renewals and expansions."""
    counts = 1 + rng.poisson(PARAMS.of("opportunities", pop.kind) - 1)
    counts[:2] = (4, 6)
    acc, seq = _expand(counts)
    otype, status = _deal_outcomes(rng, pop.kind[acc], seq)
    _pair_deals(otype, status, acc)
    close, created, modified = _deal_stamps(rng, pop.created_s[acc], seq, status, as_of)
    n = len(acc)
    share = np.where(otype == "expansion", rng.uniform(0.1, 0.4, n), rng.uniform(0.8, 1.2, n))
    open_stage = np.asarray(OPEN_STAGES, dtype=object)[rng.integers(0, 4, n)]
    stage = np.select(
        [status == "won", status == "lost"], ["closed_won", "closed_lost"], open_stage
    )
    close_day = close // DAY
    year = pd.Series(_days(close_day).dt.year.astype(str).to_numpy(dtype=object))
    label = pd.Series(otype).map(
        {"new": "New business", "renewal": "Renewal", "expansion": "Expansion"}
    )
    return pd.DataFrame(
        {
            "opportunity_id": keys("O", n),
            "account_id": take_str(pop.accounts["account_id"], acc),
            "name": (take_str(pop.accounts["name"], acc) + " - " + label + " " + year),
            "amount": np.round(pop.revenue_t12[acc] * share * _rate(pop)[acc], -2),
            "currency": take_str(pop.currency, acc),
            "stage": stage.astype(object),
            "is_closed": status != "open",
            "is_won": status == "won",
            "close_date": _days(close_day),
            "created_at": _utc(created),
            "type": otype,
            "modified_at": _utc(modified),
        }
    )


def _deal_outcomes(
    rng: np.random.Generator, k: np.ndarray, seq: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Deal type and status (open / won / lost); an account's first deal is its won new logo."""
    n = len(k)
    renewal = rng.random(n) < np.where(k == 1, 0.4, 0.6)
    otype = np.where(seq == 0, "new", np.where(renewal, "renewal", "expansion")).astype(object)
    r = rng.random(n)
    won_p = PARAMS.of("win_p", k) * 0.8
    status = np.where(r < 0.2, "open", np.where(r < 0.2 + won_p, "won", "lost"))
    status[seq == 0] = "won"
    return otype, status


def _deal_stamps(
    rng: np.random.Generator,
    created_acc: np.ndarray,
    seq: np.ndarray,
    status: np.ndarray,
    as_of: date,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Close, created and modified epoch seconds: closed deals in the past, open ones ahead."""
    n, end = len(seq), as_of_end_s(as_of)
    close = np.where(
        seq == 0,
        created_acc + rng.integers(14, 90, n) * DAY,
        created_acc + rng.random(n) * (end - created_acc),
    ).astype(np.int64)
    is_open = status == "open"
    close = np.where(is_open, end + rng.integers(7, 180, n) * DAY, np.minimum(close, end))
    created = np.maximum(created_acc, close - rng.integers(14, 120, n) * DAY)
    created = np.where(is_open, end - rng.integers(1, 90, n) * DAY, np.minimum(created, end))
    modified = np.where(is_open, created + rng.random(n) * (end - created), close + 3600)
    return close, created, np.minimum(modified.astype(np.int64), end)


def _pair_deals(otype: np.ndarray, status: np.ndarray, acc: np.ndarray) -> None:
    """A renews every year; B buys in erratic expansions and loses half of them."""
    otype[acc == 0] = ["new", "renewal", "renewal", "renewal"]
    status[acc == 0] = ["won", "won", "won", "open"]
    otype[acc == 1] = ["new", "expansion", "expansion", "expansion", "renewal", "expansion"]
    status[acc == 1] = ["won", "lost", "won", "lost", "won", "open"]


def make_tickets(rng: np.random.Generator, pop: Population, as_of: date) -> pd.DataFrame:
    """Support tickets over the last two years: few and simple for most, a flood for loud ones."""
    kind, end = pop.kind, as_of_end_s(as_of)
    mu, dispersion = PARAMS.of("tickets", kind), 1.2
    counts = rng.negative_binomial(dispersion, dispersion / (dispersion + mu))
    counts[:2] = (2, 30)
    acc, _ = _expand(counts)
    n = len(acc)
    k = kind[acc]
    since = np.maximum(pop.created_s[acc], end - 730 * DAY)
    created = (since + rng.random(n) * (end - since)).astype(np.int64)
    hours = np.exp(rng.normal(np.log(np.where(k == 1, 72.0, 24.0)), 1.0))
    closed = created + (hours * 3600).astype(np.int64)
    cum = PRIORITY_P.cumsum(axis=1)[k]
    priority = PRIORITIES[(rng.random(n)[:, None] > cum).sum(axis=1).clip(0, 3)]
    escalation = rng.random(n) < PARAMS.of("escalation_p", k)
    special = rng.random(n) < PARAMS.of("special_p", k)
    other = CATEGORIES[np.searchsorted([0.45, 0.85], rng.random(n))]
    category = np.where(special, "special_request", other).astype(object)
    effort = np.exp(rng.normal(np.log(PARAMS.of("effort_hours", k)), 0.6))
    effort *= np.where(special | escalation, 1.8, 1.0)
    _pair_tickets(acc, priority, escalation, category, effort)
    open_ = closed > end
    modified = np.where(open_, created + (end - created) // 2, closed)
    return pd.DataFrame(
        {
            "ticket_id": keys("T", n),
            "account_id": take_str(pop.accounts["account_id"], acc),
            "created_at": _utc(created),
            "closed_at": _utc(np.where(open_, np.nan, closed)),
            "priority": priority,
            "is_escalation": escalation,
            "category": category,
            "effort_hours": np.maximum(0.25, np.round(effort * 4) / 4),
            "modified_at": _utc(modified),
        }
    )


def _pair_tickets(
    acc: np.ndarray,
    priority: np.ndarray,
    escalation: np.ndarray,
    category: np.ndarray,
    effort: np.ndarray,
) -> None:
    """A: two quick questions. B: 30 tickets, 12 special requests, 6 escalations, heavy effort."""
    a, b = acc == 0, acc == 1
    priority[a], escalation[a], category[a], effort[a] = "low", False, "question", [0.5, 1.0]
    cats = ["special_request"] * 12 + ["problem"] * 10 + ["question"] * 5 + ["feature_request"] * 3
    category[b] = cats
    escalation[b] = [i % 5 == 0 for i in range(30)]
    priority[b] = [("urgent", "high", "high", "medium")[i % 4] for i in range(30)]
    effort[b] = [4.0 + (i * 7) % 9 for i in range(30)]


def make_invoices(rng: np.random.Generator, pop: Population, as_of: date) -> pd.DataFrame:
    """6-12 invoices per account over the last year, paid on time or late by behaviour."""
    kind, end_day = pop.kind, as_of_end_s(as_of) // DAY
    regular = (kind == 0) | (kind == 2)
    counts = np.where(regular, 12, rng.integers(6, 13, pop.size))
    counts = np.clip(counts, 1, np.maximum(1, pop.tenure_months))
    counts[:2] = (12, 8)
    acc, seq = _expand(counts)
    n = len(acc)
    k = kind[acc]
    spacing = 365 / counts[acc]
    jitter = np.where(regular[acc], 0.05, rng.random(n))
    issue = end_day - np.round((seq + jitter) * spacing).astype(np.int64)
    issue = np.maximum(issue, pop.created_s[acc] // DAY)
    cv = np.sqrt(np.log1p(PARAMS.of("revenue_cv", k) ** 2))
    amount = pop.revenue_t12[acc] / counts[acc] * np.exp(rng.normal(-(cv**2) / 2, cv))
    amount = np.round(amount * _rate(pop)[acc], 2)
    terms = np.where(k == 1, rng.choice([30, 45], n), rng.choice([14, 30, 30, 30], n))
    late = PARAMS.of("late_days", kind)[acc] + rng.normal(0, 3, pop.size)[acc]
    late = np.round(late + rng.normal(0, PARAMS.of("late_sd", k))).astype(np.int64)
    _pair_invoices(acc, issue, amount, terms, late, as_of)
    due = issue + terms
    paid = np.maximum(due + late, issue + 1)
    void = rng.random(n) < 0.01
    void[acc < 2] = False
    is_paid = ~void & (paid <= end_day)
    status = np.where(void, "void", np.where(is_paid, "paid", "open")).astype(object)
    return pd.DataFrame(
        {
            "invoice_id": keys("I", n),
            "account_id": take_str(pop.accounts["account_id"], acc),
            "erp_customer_id": take_str(pop.erp, acc),
            "issue_date": _days(issue),
            "due_date": _days(due),
            "paid_date": _days(np.where(is_paid, paid, np.nan)),
            "amount": amount,
            "currency": take_str(pop.currency, acc),
            "status": status,
        }
    )


def _pair_invoices(
    acc: np.ndarray,
    issue: np.ndarray,
    amount: np.ndarray,
    terms: np.ndarray,
    late: np.ndarray,
    as_of: date,
) -> None:
    """Invoices at each month end of the trailing year: A on time every month, B late."""
    month_ends = pd.period_range(end=pd.Period(as_of, freq="M"), periods=12, freq="M")
    stamps = month_ends.to_timestamp(how="end").to_numpy().astype("datetime64[D]")
    days = stamps.astype(np.int64)[::-1]
    a, b = acc == 0, acc == 1
    issue[a], amount[a], terms[a], late[a] = days, A_REVENUE[::-1], 30, -3
    billed = [i for i, v in enumerate(B_REVENUE[::-1]) if v]
    issue[b] = days[billed]
    amount[b] = [B_REVENUE[::-1][i] for i in billed]
    terms[b], late[b] = 30, [25, 40, 55, 33, 48, 61, 29, 44]
