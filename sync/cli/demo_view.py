"""What the demo prints: the value matrix as a 2x2 grid and a table, a rep's view of a few
opportunities, and the A/B customer pair, all as Rich renderables (formatting only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.table import Table

QUADRANT_COLORS = ("green", "yellow", "cyan", "red")
"""high value + high fit, high value + low fit, low value + high fit, low value + low fit."""


def money(v: Any) -> str:
    """€1,234 (or — for a missing value)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—"
    return "—" if f != f else f"€{f:,.0f}"


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole else "—"


def matrix_grid(dist: pd.DataFrame, labels: Sequence[str]) -> Table:
    """The four quadrants laid out as the matrix: value up, fit to the right."""
    by_label = dist.set_index("quadrant")
    total = float(by_label["accounts"].sum())
    cells: list[str] = []
    for label, color in zip(labels, QUADRANT_COLORS, strict=True):
        row = by_label.loc[label] if label in by_label.index else None
        n = int(row["accounts"]) if row is not None else 0
        revenue = row["revenue_12m"] if row is not None else 0
        margin = row["margin_12m"] if row is not None else 0
        cells.append(
            f"[bold {color}]{label}[/]\n{n:,} accounts ({_share(n, total)})\n"
            f"revenue {money(revenue)}\nmargin {money(margin)}"
        )
    t = Table(title="The value matrix (trailing 12 months)", show_lines=True, padding=(0, 2))
    t.add_column("", justify="right", style="bold")
    t.add_column("low fit", justify="center", min_width=26)
    t.add_column("high fit", justify="center", min_width=26)
    high_high, high_low, low_high, low_low = cells
    t.add_row("high\nvalue", high_low, high_high)
    t.add_row("low\nvalue", low_low, low_high)
    return t


def distribution_table(dist: pd.DataFrame) -> Table:
    """Accounts, revenue, margin, margin share and CLV per quadrant, with totals."""
    t = Table(title="Per quadrant")
    for col in ("quadrant", "accounts", "share", "revenue 12m", "margin 12m", "margin %", "CLV"):
        t.add_column(col, justify="left" if col == "quadrant" else "right")
    total_n = float(dist["accounts"].sum())
    for row in dist.itertuples(index=False):
        rev, mar = float(row.revenue_12m or 0), float(row.margin_12m or 0)
        t.add_row(
            str(row.quadrant), f"{int(row.accounts):,}", _share(row.accounts, total_n),
            money(rev), money(mar), _share(mar, rev), money(getattr(row, "clv", None)),
        )  # fmt: skip
    rev, mar = float(dist["revenue_12m"].sum()), float(dist["margin_12m"].sum())
    clv = dist["clv"].sum() if "clv" in dist else None
    t.add_row("[bold]all[/]", f"[bold]{int(total_n):,}[/]", "100%", money(rev), money(mar),
              _share(mar, rev), money(clv))  # fmt: skip
    return t


def examples_table(rows: pd.DataFrame, crm: str) -> Table:
    """Opportunities as the rep sees them in the CRM (values read back from it)."""
    where = "Opportunity" if crm == "salesforce" else "Deal"
    t = Table(title=f"As a sales rep sees it: {where} records, read back from the CRM")
    for col in ("opportunity", "amount", "Value Quadrant", "Deal Priority", "Max Acq. Cost"):
        t.add_column(col, justify="right" if col in ("amount", "Max Acq. Cost") else "left")
    t.add_column("Value Reason", max_width=70)
    for r in rows.itertuples(index=False):
        t.add_row(str(r.name), money(r.amount), str(r.quadrant or "—"),
                  str(r.deal_priority or "—"), money(r.max_acquisition_cost),
                  str(r.reason or "—"))  # fmt: skip
    return t


PAIR_ROWS = (
    ("revenue, trailing 12 months", "revenue_12m", money),
    ("contribution margin", "margin_12m", money),
    ("lifetime value (CLV)", "clv", money),
    ("value score", "value_score", lambda v: f"{float(v):.0f}"),
    ("fit score", "fit_score", lambda v: f"{float(v):.0f}"),
    ("Value Quadrant (in the CRM)", "crm_quadrant", str),
    ("Account Action (in the CRM)", "crm_action", str),
    ("Value Reason (in the CRM)", "crm_reason", str),
)


def pair_table(a: dict[str, Any], b: dict[str, Any]) -> Table:
    """Customers A and B side by side: the same revenue, different margin and quadrant."""
    t = Table(title="Same revenue, different value (customers A and B)", show_lines=True)
    t.add_column("")
    t.add_column(f"A: {a['name']}", max_width=48)
    t.add_column(f"B: {b['name']}", max_width=48)
    for label, key, fmt in PAIR_ROWS:
        cells = []
        for side in (a, b):
            v = side.get(key)
            cells.append("—" if v is None or (isinstance(v, float) and v != v) else fmt(v))
        t.add_row(label, *cells)
    return t


def second_pass_line(written: int, changed: int, calls: int) -> str:
    """The idempotence line of the second run."""
    color = "green" if written == 0 else "red"
    return (
        f"[bold {color}]second pass: {written:,} records written[/] "
        f"({changed:,} changed, {calls:,} write calls): the CRM already holds every value."
    )
