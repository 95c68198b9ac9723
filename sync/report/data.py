"""The value-matrix report's figures, computed from scored frames: pure, no I/O, no clock.

`ReportInput` holds what a report is drawn from (the scores of this run with the names of
its axes and, when the source has them, its segments; optionally the scores of an earlier
run, what-if results, finance gaps and the sync's run history); `assemble`
turns it into `ReportData`, the tables and point sets that `report_html` and `report_png`
draw. Every table is computed on all accounts; only the points of the matrix are
downsampled beyond `max_points` (the largest accounts by revenue plus a seeded random
sample of the rest, in proportion per quadrant), and `ReportData.sampled` says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sync.report import DEFAULT_MAX_POINTS
from sync.report import health as report_health
from sync.report.health import Health

MONEY = ("revenue_12m", "margin_12m", "clv")
SHARE_OF = {
    "accounts": "Accounts",
    "revenue_12m": "Revenue (12m)",
    "margin_12m": "Contribution margin (12m)",
    "clv": "Lifetime value",
}
POINT_COLUMNS = (
    "account_id",
    "name",
    "value_score",
    "fit_score",
    "quadrant",
    "revenue_12m",
    "margin_12m",
    "clv",
    "reason",
)
NUMBER = r"[-−]?[€$£¥]?\d[\d.,]*(?:[kM]\b|%)?"


@dataclass(frozen=True)
class Scores:
    """One scored population: account scores (+ name), opportunity scores and the thresholds.

    `labels` are the four quadrant labels in engine order (high value + high fit, high value
    + low fit, low value + high fit, low value + low fit); `cuts` = (value, fit) thresholds.
    """

    accounts: pd.DataFrame
    opportunities: pd.DataFrame
    labels: tuple[str, ...]
    cuts: tuple[float, float]
    currency: str = "EUR"
    source: str = ""
    as_of: str | None = None
    axes: tuple[str, str] = ("value", "fit")
    """What value_score and fit_score mean under the model's preset (EngineResult.axes)."""
    segments: pd.DataFrame | None = None
    """EngineResult.segments (one row per segment), when the source has it."""


@dataclass(frozen=True)
class FinanceGaps:
    """Finance customers that matched no account, and accounts without finance rows."""

    unmatched_finance: pd.DataFrame
    accounts_without_finance: pd.DataFrame
    figures: Mapping[str, float] = field(default_factory=dict)
    """Counts only (a run stores the join's figures, not the lists), e.g. unmatched_customers."""


@dataclass(frozen=True)
class ReportInput:
    """Everything a report may show; all but `current` are optional sections."""

    current: Scores
    previous: Scores | None = None
    whatif: pd.DataFrame | None = None
    """value_engine.what_if(...).summary: scenario, horizon_months, multiplier, changed, labels."""
    finance: FinanceGaps | None = None
    runs: Sequence[Mapping[str, Any]] = ()
    rejected: pd.DataFrame | None = None
    daily_limit: int | None = None
    notes: Sequence[str] = ()


@dataclass(frozen=True)
class ReportData:
    """The figures of a report, ready to draw."""

    title: str
    labels: tuple[str, ...]
    cuts: tuple[float, float]
    currency: str
    total_accounts: int
    points: pd.DataFrame
    sampled: str | None
    predicted: pd.DataFrame
    shares: pd.DataFrame
    headlines: list[str]
    transitions: pd.DataFrame | None
    movers: pd.DataFrame | None
    whatif: pd.DataFrame | None
    drivers: dict[str, pd.DataFrame]
    finance: FinanceGaps | None
    health: Health
    notes: list[str] = field(default_factory=list)
    axes: tuple[str, str] = ("value", "fit")
    segments: pd.DataFrame | None = None


def assemble(inp: ReportInput, *, max_points: int = DEFAULT_MAX_POINTS) -> ReportData:
    """All figures of the report from its input."""
    cur = inp.current
    accounts = normalise(cur.accounts, cur.labels)
    customers = accounts[~accounts["predicted"]]
    points, sampled = sample_points(customers, max_points)
    previous = None if inp.previous is None else normalise(inp.previous.accounts, cur.labels)
    share_table = shares(accounts, cur.labels)
    title = "Value matrix" + (f" as of {cur.as_of}" if cur.as_of else "")
    return ReportData(
        title=title,
        labels=cur.labels,
        cuts=cur.cuts,
        currency=cur.currency,
        total_accounts=len(accounts),
        points=points,
        sampled=sampled,
        predicted=predicted_points(cur.opportunities, accounts, max_points),
        shares=share_table,
        headlines=headlines(share_table),
        transitions=None if previous is None else transitions(previous, accounts, cur.labels),
        movers=None if previous is None else movers(previous, accounts),
        whatif=inp.whatif,
        drivers=drivers(accounts, cur.labels),
        finance=inp.finance,
        health=report_health.health(inp.runs, inp.rejected, inp.daily_limit),
        notes=[f"Source: {cur.source}"] * bool(cur.source) + list(inp.notes),
        axes=cur.axes,
        segments=None if cur.segments is None else segment_rows(cur.segments),
    )


SEGMENT_COLUMNS = (
    "segment", "accounts", "customers", "revenue_12m", "acquisition_cost_per_year",
    "sales_cost_12m", "delivery_cost_12m", "service_cost_12m", "gross_margin_12m",
    "net_contribution_12m", "alignment", "ltv_to_cac", "cac_payback_months",
)  # fmt: skip
"""The columns of EngineResult.segments the report shows, in its order."""


def segment_rows(segments: pd.DataFrame) -> pd.DataFrame:
    """The segment roll-up as the report shows it: its columns, largest revenue first.

    The values are those of EngineResult.segments, untouched (a column the frame lacks,
    e.g. from an older scores folder, is empty)."""
    out = pd.DataFrame({"segment": segments["segment"].astype(str).to_numpy()})
    for col in SEGMENT_COLUMNS[1:]:
        values = segments[col] if col in segments.columns else pd.Series(np.nan, segments.index)
        out[col] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    for col in ("accounts", "customers"):
        out[col] = out[col].fillna(0).astype(int)
    order = np.lexsort((out["segment"].to_numpy(), -out["revenue_12m"].fillna(0.0).to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def normalise(accounts: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Account scores with the columns the report needs, typed; the quadrant categorical."""
    out = pd.DataFrame({"account_id": accounts["account_id"].astype(str).to_numpy()})
    names = accounts["name"] if "name" in accounts.columns else accounts["account_id"]
    out["name"] = names.fillna(accounts["account_id"]).astype(str).to_numpy()
    for col in ("value_score", "fit_score", *MONEY):
        values = accounts[col] if col in accounts.columns else pd.Series(0.0, index=accounts.index)
        out[col] = pd.to_numeric(values, errors="coerce").fillna(0.0).to_numpy(dtype=float)
    out["quadrant"] = pd.Categorical(accounts["quadrant"].astype(str), categories=list(labels))
    flag = accounts["predicted"] if "predicted" in accounts.columns else False
    out["predicted"] = pd.Series(flag, index=accounts.index).astype(str).str.lower().eq("true")
    reason = accounts["reason"] if "reason" in accounts.columns else ""
    out["reason"] = pd.Series(reason, index=accounts.index).fillna("").astype(str).to_numpy()
    return out


def shares(accounts: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Per quadrant: accounts, revenue, margin, lifetime value and each as a share of the total.

    Shares are fractions (0.38 = 38 %); each share column sums to 1 over the quadrants
    (margin and lifetime value can be negative for an account, so a quadrant's share can be
    negative or above 1 while the total still is 1). A zero total gives shares of 0.
    """
    grouped = accounts.groupby("quadrant", observed=False)
    table = grouped.agg(accounts=("account_id", "size"), **{m: (m, "sum") for m in MONEY})
    table = table.reindex(list(labels)).fillna(0.0)
    table["accounts"] = table["accounts"].astype(int)
    for col in SHARE_OF:
        total = float(table[col].sum())
        table[f"{col}_share"] = table[col] / total if total else 0.0
    return table.rename_axis("quadrant").reset_index()


def headlines(table: pd.DataFrame) -> list[str]:
    """'Deprioritize holds 40 % of revenue but 22 % of contribution margin', largest gaps first.

    Quadrants whose revenue share exceeds their margin share come first (revenue that is
    not value), then the opposite; gaps under 2 points are not worth a sentence.
    """
    gap = table["revenue_12m_share"] - table["margin_12m_share"]
    order = sorted(gap.index, key=lambda i: (gap[i] <= 0, -abs(gap[i])))
    out = []
    for i in order[:2]:
        if abs(gap[i]) < 0.02:
            continue
        row = table.loc[i]
        word = "but only" if gap[i] > 0 else "and"
        out.append(
            f"{row['quadrant']} holds {row['revenue_12m_share']:.0%} of revenue {word} "
            f"{row['margin_12m_share']:.0%} of contribution margin "
            f"({row['clv_share']:.0%} of lifetime value)."
        )
    return [s.replace("%", " %") for s in out]


def sample_points(accounts: pd.DataFrame, max_points: int) -> tuple[pd.DataFrame, str | None]:
    """The points to draw: all, or the largest by revenue plus a per-quadrant random sample."""
    cols = list(POINT_COLUMNS)
    n = len(accounts)
    if n <= max_points:
        return accounts[cols].reset_index(drop=True), None
    top_n = max_points // 5
    order = np.argsort(-accounts["revenue_12m"].to_numpy(), kind="stable")
    keep = np.zeros(n, dtype=bool)
    keep[order[:top_n]] = True
    rest = np.flatnonzero(~keep)
    quadrant = accounts["quadrant"].cat.codes.to_numpy()[rest]
    rng = np.random.default_rng(0)
    budget = max_points - top_n
    for code in np.unique(quadrant):
        members = rest[quadrant == code]
        take = round(budget * len(members) / len(rest))
        keep[rng.choice(members, size=min(take, len(members)), replace=False)] = True
    shown = accounts.loc[keep, cols].reset_index(drop=True)
    note = (
        f"The matrix shows {len(shown):,} of {n:,} accounts: the {top_n:,} largest by revenue "
        "and a random sample of the rest in proportion per quadrant. Every table and share "
        "uses all accounts."
    )
    return shown, note


def predicted_points(
    opportunities: pd.DataFrame, accounts: pd.DataFrame, max_points: int
) -> pd.DataFrame:
    """Predicted (new-logo) records as points: open predicted opportunities, else accounts."""
    cols = ["id", "name", "value_score", "fit_score", "amount", "clv", "reason"]
    opps = opportunities
    if len(opps) and "predicted" in opps.columns:
        flag = opps["predicted"].astype(str).str.lower().eq("true")
        if "is_closed" in opps.columns:
            flag &= ~opps["is_closed"].astype(str).str.lower().eq("true")
        sel = opps[flag]
        if len(sel):
            out = pd.DataFrame(
                {
                    "id": sel["opportunity_id"].astype(str),
                    "name": sel.get("name", sel["opportunity_id"]).astype(str),
                    "value_score": pd.to_numeric(sel["value_score"], errors="coerce"),
                    "fit_score": pd.to_numeric(sel["fit_score"], errors="coerce"),
                    "amount": pd.to_numeric(sel.get("amount", 0.0), errors="coerce"),
                    "clv": pd.to_numeric(sel.get("clv", 0.0), errors="coerce"),
                    "reason": sel.get("reason", "").fillna("").astype(str),
                }
            )
            return out.dropna(subset=["value_score", "fit_score"]).head(max_points)
    new = accounts[accounts["predicted"]]
    out = new.rename(columns={"account_id": "id"}).assign(amount=0.0)
    return out[cols].head(max_points).reset_index(drop=True)


def transitions(
    previous: pd.DataFrame, current: pd.DataFrame, labels: Sequence[str]
) -> pd.DataFrame:
    """Counts: quadrant in the earlier run (rows, plus 'new') x now (columns, plus 'gone')."""
    merged = previous[["account_id", "quadrant"]].merge(
        current[["account_id", "quadrant"]],
        on="account_id",
        how="outer",
        suffixes=("_before", "_now"),
    )
    before = merged["quadrant_before"].astype(object).where(merged["quadrant_before"].notna())
    now = merged["quadrant_now"].astype(object).where(merged["quadrant_now"].notna())
    table = pd.crosstab(before.fillna("(new)"), now.fillna("(gone)"))
    rows = [*labels, "(new)"]
    cols = [*labels, "(gone)"]
    return table.reindex(index=rows, columns=cols, fill_value=0).rename_axis(
        index="before", columns="now"
    )


def movers(previous: pd.DataFrame, current: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """Accounts that changed quadrant, largest score movement first."""
    cols = ["account_id", "quadrant", "value_score", "fit_score"]
    m = previous[cols].merge(
        current[[*cols, "name", "revenue_12m"]], on="account_id", suffixes=("_before", "_now")
    )
    moved = m[m["quadrant_before"].astype(str) != m["quadrant_now"].astype(str)].copy()
    moved["value_change"] = moved["value_score_now"] - moved["value_score_before"]
    moved["fit_change"] = moved["fit_score_now"] - moved["fit_score_before"]
    moved["distance"] = np.hypot(moved["value_change"], moved["fit_change"])
    moved = moved.sort_values(["distance", "account_id"], ascending=[False, True]).head(top)
    keep = [
        "account_id",
        "name",
        "quadrant_before",
        "quadrant_now",
        "value_score_before",
        "value_score_now",
        "fit_score_before",
        "fit_score_now",
        "revenue_12m",
        "distance",
    ]
    return moved[keep].reset_index(drop=True)


def driver_phrases(reasons: pd.Series) -> pd.Series:
    """Each reason split into its phrases, figures replaced by '…', first letter capitalised.

    Reasons repeat a small set of phrases, so the text work is done once per distinct phrase.
    """
    parts = reasons.str.split("; ").explode()
    parts = parts[parts.notna() & (parts != "")]
    distinct = pd.Series(parts.unique(), dtype=object)
    generic = distinct.str.replace(NUMBER, "…", regex=True).str.replace(
        r"…(?:[-–]?…)+", "…", regex=True
    )
    generic = generic.str[:1].str.upper() + generic.str[1:]
    return parts.map(dict(zip(distinct, generic, strict=True)))


def drivers(accounts: pd.DataFrame, labels: Sequence[str], top: int = 5) -> dict[str, pd.DataFrame]:
    """Per quadrant: the most common reason phrases and the share of its accounts naming them."""
    out: dict[str, pd.DataFrame] = {}
    phrases = driver_phrases(accounts["reason"])
    quadrant = accounts["quadrant"].reindex(phrases.index)
    size = accounts["quadrant"].value_counts()
    for label in labels:
        counts = phrases[quadrant == label].value_counts().head(top)
        total = int(size.get(label, 0))
        out[label] = pd.DataFrame(
            {
                "driver": counts.index.astype(str),
                "accounts": counts.to_numpy(dtype=int),
                "share": counts.to_numpy() / total if total else 0.0,
            }
        )
    return out
