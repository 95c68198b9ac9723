"""Alert triggers as pure functions: a run's facts in, each trigger's finding out.

No I/O and no clock: the orchestrator (sync/alerts/) gathers the facts of a finished run
(status, figures, the pulled counts of earlier runs, the finance export's age) and
decides what a change of state means. A trigger whose inputs a run does not have (the
figures of a failed run) is left out, so its state carries over unchanged.

```python
findings = evaluate(config.triggers, facts)          # [Finding(trigger, firing, ...)]
moved = quadrant_migrations(before, after, rule)     # accounts that left / entered quadrants
```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mappings.alerts import (
    FinanceStale,
    QuadrantMigration,
    RecordCount,
    RejectedShare,
    RunFailed,
    SlowRun,
    Trigger,
)

MIGRATION_COLUMNS = ("account_id", "from_quadrant", "to_quadrant", "clv")


@dataclass(frozen=True)
class RunFacts:
    """What the orchestrator knows about the run that just ended."""

    status: str
    """succeeded | succeeded_with_rejections | failed"""
    message: str = ""
    duration_seconds: float | None = None
    written: int = 0
    rejected: int = 0
    pulled: Mapping[str, int] = field(default_factory=dict)
    history: Mapping[str, Sequence[int]] = field(default_factory=dict)
    """Per object: rows pulled by earlier successful runs, newest first."""
    finance_age_days: float | None = None
    """Days since the finance export was written; None: the connection has no finance."""

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "aborted")


@dataclass(frozen=True)
class Finding:
    """One trigger's verdict on one run."""

    trigger: str
    kind: str
    severity: str
    firing: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


def evaluate(triggers: Sequence[Trigger], facts: RunFacts) -> list[Finding]:
    """A finding per trigger that the run's facts can judge (migrations are separate)."""
    out = []
    for t in triggers:
        found = _judge(t, facts)
        if found is not None:
            firing, summary, details = found
            out.append(Finding(t.key, t.kind, t.severity, firing, summary, details))
    return out


Verdict = tuple[bool, str, dict[str, Any]]


def _judge(t: Trigger, f: RunFacts) -> Verdict | None:
    if isinstance(t, RunFailed):
        return f.failed, (f"the run failed: {f.message}" if f.failed else "runs succeed"), {}
    if f.failed or isinstance(t, QuadrantMigration):
        return None
    if isinstance(t, RejectedShare):
        return _rejected(t, f)
    if isinstance(t, RecordCount):
        return _record_count(t, f)
    if isinstance(t, SlowRun):
        if f.duration_seconds is None:
            return None
        slow = f.duration_seconds > t.max_seconds
        text = f"the run took {f.duration_seconds:,.0f} s (limit {t.max_seconds:,.0f} s)"
        return slow, text, {"seconds": round(f.duration_seconds, 1), "limit": t.max_seconds}
    if isinstance(t, FinanceStale):
        if f.finance_age_days is None:
            return None
        stale = f.finance_age_days > t.max_age_days
        text = f"the finance export is {f.finance_age_days:.0f} day(s) old (limit {t.max_age_days})"
        return stale, text, {"age_days": round(f.finance_age_days, 1)}
    return None


def _rejected(t: RejectedShare, f: RunFacts) -> Verdict:
    attempted = f.written + f.rejected
    share = f.rejected / attempted if attempted else 0.0
    text = f"{f.rejected:,} of {attempted:,} written records rejected ({share:.1%})"
    return share > t.threshold, text, {"share": round(share, 4), "rejected": f.rejected}


def _record_count(t: RecordCount, f: RunFacts) -> Verdict | None:
    if t.object not in f.pulled:
        return None
    earlier = list(f.history.get(t.object, ()))[: t.window]
    if not earlier:
        return None
    average = sum(earlier) / len(earlier)
    now = f.pulled[t.object]
    change = (now - average) / average if average else (0.0 if now == 0 else 1.0)
    text = (
        f"{now:,} {t.object} pulled vs an average of {average:,.0f} over the last "
        f"{len(earlier)} run(s) ({change:+.0%})"
    )
    details = {"pulled": now, "average": round(average, 1), "change": round(change, 4)}
    return abs(change) > t.deviation, text, details


def quadrant_migrations(
    before: pd.DataFrame, after: pd.DataFrame, rule: QuadrantMigration | None = None
) -> pd.DataFrame:
    """Accounts whose quadrant differs between two score frames, filtered by `rule`.

    Both frames have account_id and quadrant (after also clv and any columns to carry,
    e.g. reason, account_action, owner_id, name). Accounts new in `after` did not move.
    The result has `from_quadrant`, `to_quadrant` and after's columns, by account_id.
    """
    if before.empty or after.empty:
        return pd.DataFrame(columns=list(MIGRATION_COLUMNS))
    old = pd.Series(
        before["quadrant"].astype(str).to_numpy(), index=before["account_id"].astype(str)
    )
    now = after.copy()
    now["account_id"] = now["account_id"].astype(str)
    now["to_quadrant"] = now["quadrant"].astype(str)
    now["from_quadrant"] = now["account_id"].map(old)
    moved = now[now["from_quadrant"].notna() & (now["from_quadrant"] != now["to_quadrant"])]
    if rule is not None:
        moved = _filtered(moved, rule)
    return moved.sort_values("account_id", kind="stable").reset_index(drop=True)


def _filtered(moved: pd.DataFrame, rule: QuadrantMigration) -> pd.DataFrame:
    keep = pd.Series(True, index=moved.index)
    if rule.from_quadrants is not None:
        keep &= moved["from_quadrant"].isin(rule.from_quadrants)
    if rule.to_quadrants is not None:
        keep &= moved["to_quadrant"].isin(rule.to_quadrants)
    if rule.min_clv is not None and "clv" in moved.columns:
        keep &= pd.to_numeric(moved["clv"], errors="coerce").fillna(0) >= rule.min_clv
    if rule.owners is not None and "owner_id" in moved.columns:
        keep &= moved["owner_id"].astype(str).isin(rule.owners)
    return moved[keep]


def shares_by_quadrant(scores: pd.DataFrame) -> pd.DataFrame:
    """Per quadrant: accounts, revenue share and value (CLV) share of the whole book."""
    if scores.empty:
        return pd.DataFrame(columns=["quadrant", "accounts", "revenue_share", "value_share"])
    quadrant = scores["quadrant"]
    if not isinstance(quadrant.dtype, pd.CategoricalDtype):  # keep the model's label order
        quadrant = quadrant.astype(str)
    frame = pd.DataFrame(
        {
            "quadrant": quadrant.array,
            "revenue": pd.to_numeric(scores.get("revenue_12m", 0), errors="coerce").fillna(0),
            "value": pd.to_numeric(scores.get("clv", 0), errors="coerce").fillna(0).clip(lower=0),
        }
    )
    grouped = frame.groupby("quadrant", sort=True, observed=True).agg(
        accounts=("quadrant", "size"), revenue=("revenue", "sum"), value=("value", "sum")
    )
    revenue_total, value_total = grouped["revenue"].sum(), grouped["value"].sum()
    grouped["revenue_share"] = grouped["revenue"] / revenue_total if revenue_total else 0.0
    grouped["value_share"] = grouped["value"] / value_total if value_total else 0.0
    out = grouped.reset_index()[["quadrant", "accounts", "revenue_share", "value_share"]]
    out["quadrant"] = out["quadrant"].astype(str)
    return out.round({"revenue_share": 4, "value_share": 4})
