"""Service, payment and deal features per account (windows as in value_engine.features).

Cost to serve (last 12 months, by the month a ticket was created):
  each ticket costs the unit cost of its priority (model.cost_to_serve.ticket_cost),
  plus escalation_cost when it was escalated, plus effort_hours x effort_hour_cost.
  cost_to_serve_12m is the sum; tickets_12m, escalations_12m, special_requests_12m
  (category `special_request`) and effort_hours_12m are the counts behind it;
  cost_to_serve_lifetime is the same sum over all months before as_of.
  service_cost_pct = cost_to_serve_12m / revenue_12m.

Payment quality (invoices that are not void, due in the 24 x 365/12 days before as_of; an
invoice without a due date is due payment_terms_days after its issue date; a payment
dated on or after as_of does not count yet):
  on_time_share = invoices paid on or before their due date / invoices due;
  avg_days_late = average of (payment date, or as_of while unpaid, minus due date), where
  early payments count as 0 days;
  overdue_amount = sum of invoices issued before as_of, unpaid at as_of and past due.

Deals: renewals_won_24m counts won opportunities of type `renewal` closed in the 730 days
before as_of; won_deals counts every won opportunity closed before as_of; open_pipeline
sums the amounts of opportunities that are not closed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mappings.canonical import PRIORITIES, SPECIAL_REQUEST
from value_engine.frames import (
    NO_DAY,
    column,
    day_numbers,
    flags,
    label_codes,
    month_of_day,
    numbers,
    per_account,
    texts_equal,
)
from value_engine.model import ValueModel

PAYMENT_WINDOW_DAYS = 730


@dataclass(frozen=True)
class Invoices:
    """Invoice columns as arrays: account codes, issue day numbers, amounts, void flags.

    Due and payment dates are converted only while the payment features are computed, so
    two columns of day numbers (8 bytes a row each) are not held through the whole run.
    """

    codes: np.ndarray
    issue: np.ndarray
    amount: np.ndarray
    void: np.ndarray


def invoice_arrays(invoices: pd.DataFrame, codes: np.ndarray) -> Invoices:
    """The invoice columns the money features need, converted once (`codes`: account codes)."""
    n = len(invoices)
    return Invoices(
        codes=codes,
        issue=day_numbers(column(invoices, "issue_date"), n),
        amount=numbers(invoices, "amount", 0.0),
        void=texts_equal(invoices, "status", "void"),
    )


def ticket_features(
    tickets: pd.DataFrame, codes: np.ndarray, n: int, month: int, model: ValueModel
) -> dict[str, np.ndarray]:
    """Ticket counts and cost to serve over the last 12 months (and lifetime cost)."""
    rows = len(tickets)
    months = month_of_day(day_numbers(column(tickets, "created_at"), rows))
    recent = (months >= month - 12) & (months < month)
    costs = model.cost_to_serve
    escalated = flags(tickets, "is_escalation")
    hours = numbers(tickets, "effort_hours", 0.0)
    cost = _priority_cost(tickets, {str(k): v for k, v in costs.ticket_cost.items()})
    cost += escalated * costs.escalation_cost + hours * costs.effort_hour_cost
    special = texts_equal(tickets, "category", SPECIAL_REQUEST)
    return {
        "tickets_12m": per_account(codes, n, where=recent),
        "escalations_12m": per_account(codes, n, where=recent & escalated),
        "special_requests_12m": per_account(codes, n, where=recent & special),
        "effort_hours_12m": per_account(codes, n, hours, recent),
        "cost_to_serve_12m": per_account(codes, n, cost, recent),
        "cost_to_serve_lifetime": per_account(
            codes, n, cost, (months < month) & (months != NO_DAY)
        ),
    }


def _priority_cost(tickets: pd.DataFrame, unit: dict[str, float]) -> np.ndarray:
    """The unit cost of each ticket's priority; an empty priority costs like `medium`."""
    prices = np.array([unit.get(p, 0.0) for p in PRIORITIES] + [unit.get("medium", 0.0)])
    if "priority" not in tickets.columns:
        return np.full(len(tickets), prices[-1])
    codes = label_codes(tickets["priority"], PRIORITIES)
    return np.asarray(prices[codes])


def payment_features(
    inv: Invoices, invoices: pd.DataFrame, n: int, day: int, terms_days: int
) -> dict[str, np.ndarray]:
    """On-time share, average days late and overdue amount as of `day`."""
    rows = len(invoices)
    has_issue = inv.issue != NO_DAY
    due = day_numbers(column(invoices, "due_date"), rows)
    due = np.where(due != NO_DAY, due, np.where(has_issue, inv.issue + terms_days, NO_DAY))
    paid = day_numbers(column(invoices, "paid_date"), rows)
    live = ~inv.void & (due != NO_DAY)
    paid_yet = (paid != NO_DAY) & (paid < day)
    considered = live & (due < day) & (due >= day - PAYMENT_WINDOW_DAYS)
    settled = np.where(paid_yet, paid, day)
    late = np.clip(settled - due, 0, None).astype(np.float64)
    del settled
    on_time = paid_yet & (paid <= due)
    del paid
    count = per_account(inv.codes, n, where=considered)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = per_account(inv.codes, n, where=considered & on_time) / count
        days = per_account(inv.codes, n, late, considered) / count
    overdue = live & has_issue & (inv.issue < day) & ~paid_yet & (due < day)
    return {
        "on_time_share": np.where(count > 0, share, np.nan),
        "avg_days_late": np.where(count > 0, days, np.nan),
        "overdue_amount": per_account(inv.codes, n, inv.amount, overdue),
        "invoices_due_24m": count,
    }


def deal_features(opps: pd.DataFrame, codes: np.ndarray, n: int, day: int) -> dict[str, np.ndarray]:
    """Renewals won in the last 24 months, won deals, and the open pipeline."""
    rows = len(opps)
    closed = day_numbers(column(opps, "close_date"), rows)
    won = flags(opps, "is_won") & (closed != NO_DAY) & (closed < day)
    renewal = texts_equal(opps, "type", "renewal")
    recent = closed >= day - PAYMENT_WINDOW_DAYS
    is_open = ~flags(opps, "is_closed")
    return {
        "renewals_won_24m": per_account(codes, n, where=won & renewal & recent),
        "won_deals": per_account(codes, n, where=won),
        "open_pipeline": per_account(codes, n, numbers(opps, "amount", 0.0), is_open),
    }
