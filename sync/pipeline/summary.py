"""Filling a RunReport: counts of changes, distribution, transitions, samples, examples."""

from __future__ import annotations

from typing import Any

import pandas as pd

from sync.pipeline.compute import Inputs
from sync.pipeline.results import ObjectCounts, RunReport
from sync.pipeline.setup import Setup

NONE_LABEL = "(none)"


def object_counts(
    counts: dict[str, ObjectCounts], changes: dict[str, pd.DataFrame]
) -> dict[str, ObjectCounts]:
    """Records and fields changed per table, added to the pull counts."""
    for table, frame in changes.items():
        c = counts.setdefault(table, ObjectCounts())
        c.records_changed = int(frame["record_id"].nunique()) if len(frame) else 0
        c.fields_changed = len(frame)
    return counts


def fill_report(
    report: RunReport,
    setup: Setup,
    inputs: Inputs,
    changes: dict[str, pd.DataFrame],
    rejected: pd.DataFrame | None,
    sample: int,
) -> None:
    """Distribution, transitions, a sample of changes, rep's examples, finance figures."""
    result = inputs.result
    dist = result.distribution()
    clv = result.accounts.groupby("quadrant", observed=False)["clv"].sum()
    dist["clv"] = dist["quadrant"].map(clv).astype(float).to_numpy()
    dist["quadrant"] = dist["quadrant"].astype(str)
    report.distribution = dist
    report.transitions = transitions(inputs)
    report.field_changes = field_changes(changes)
    report.sample = sample_changes(inputs, changes, sample)
    report.examples = examples(result.opportunities, sample)
    report.rejected = rejected
    report.finance = dict(inputs.finance)
    if inputs.ignored_overrides:
        report.messages.append(
            f"{inputs.ignored_overrides} account(s) hold a value in the override field that is "
            f"not a quadrant label; it was ignored. Allowed: "
            f"{', '.join(setup.model.quadrants.label_tuple())}"
        )


def transitions(inputs: Inputs) -> pd.DataFrame:
    """Accounts by quadrant now in the CRM (rows) x quadrant computed (columns)."""
    accounts = inputs.current["accounts"]
    before = (
        accounts.set_index(accounts["account_id"].astype(str))["quadrant"]
        if "quadrant" in accounts.columns
        else pd.Series(dtype=object)
    )
    after = inputs.result.accounts.set_index("account_id")["quadrant"].astype(str)
    prev = before.reindex(after.index).astype(object)
    prev = prev.where(prev.notna() & (prev.astype(str) != ""), NONE_LABEL).astype(str)
    table = pd.crosstab(prev.rename("crm_quadrant"), after.rename("new_quadrant"))
    return table.reset_index()


def field_changes(changes: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """How many records change in each CRM field: object, field, records."""
    parts = [f[["object", "field"]] for f in changes.values() if not f.empty]
    if not parts:
        return pd.DataFrame(columns=["object", "field", "records"])
    counted = pd.concat(parts, ignore_index=True).value_counts(sort=False)
    return (
        counted.rename("records").reset_index().sort_values(["object", "field"], ignore_index=True)
    )


def sample_changes(inputs: Inputs, changes: dict[str, pd.DataFrame], n: int) -> pd.DataFrame:
    """A few changed fields: object, record_id, name, field, old, new."""
    parts = []
    for table, frame in changes.items():
        if frame.empty:
            continue
        current = inputs.current.get(table)
        key = "account_id" if table == "accounts" else "opportunity_id"
        names: dict[str, Any] = {}
        if current is not None and "name" in current.columns:
            names = dict(zip(current[key].astype(str), current["name"], strict=True))
        part = frame.head(n)
        part = part.assign(name=part["record_id"].map(names))
        parts.append(part.rename(columns={"previous": "old"}))
    if not parts:
        return pd.DataFrame(columns=["object", "record_id", "name", "field", "old", "new"])
    return pd.concat(parts, ignore_index=True)[
        ["object", "record_id", "name", "field", "old", "new"]
    ]


def examples(opportunities: pd.DataFrame, n: int) -> pd.DataFrame:
    """Open opportunities first, as a rep sees them."""
    wanted = ["name", "quadrant", "deal_priority", "max_acquisition_cost", "reason"]
    if opportunities.empty:
        return pd.DataFrame(columns=wanted)
    frame = opportunities
    if "is_closed" in frame.columns:
        closed = frame["is_closed"].astype("boolean").fillna(False).astype(bool)
        frame = pd.concat([frame[~closed], frame[closed]])
    out = frame.reindex(columns=wanted).head(n).reset_index(drop=True)
    out["quadrant"] = out["quadrant"].astype(str)
    return out
