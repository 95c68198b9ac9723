"""Steps 4-5 of a run: finance joined to the mirrored accounts, then the value engine.

Finance is loaded first (before any CRM call), so a finance file with too many bad rows
stops the run before anything is pulled or written. The engine always sees the whole
population read back from the mirror; the CRM's current quadrant is the previous quadrant
(hysteresis) and the override field forces the quadrant used by the rules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from connectors.finance.cache import load_finance_cached
from connectors.finance.loader import FinanceLoad, load_finance, match_accounts
from mappings.canonical import TABLES, coerce_table, convert_currency
from mappings.errors import DataError, FinanceDataError
from sync.pipeline.setup import OVERRIDE_COLUMN, Setup
from sync.state.db import StateDB
from value_engine import EngineResult, compute

log = logging.getLogger(__name__)
QUARANTINE_SHOWN = 50
"""Quarantined finance rows a run's report lists; `runs show` and the state hold them all."""


@dataclass
class Inputs:
    """What the engine ran on, and what the diff compares against."""

    current: dict[str, pd.DataFrame]
    """Mirror rows of accounts / opportunities as pulled (CRM values of the outputs)."""
    result: EngineResult
    finance: dict[str, Any] = field(default_factory=dict)
    ignored_overrides: int = 0


def load_finance_for(
    setup: Setup, state: StateDB, run_id: int, as_of: date, rates: pd.DataFrame | None = None
) -> FinanceLoad | None:
    """The connection's finance files checked; quarantine stored; too many bad rows stop.
    `rates`: the CRM's exchange rates (rates.kind: crm; never cached)."""
    if setup.finance is None or setup.finance_path is None:
        return None
    base = setup.finance_path.parent
    try:
        if state.cache_dir is None or rates is not None:
            loaded = load_finance(setup.finance, base_dir=base, as_of=as_of, rates=rates)
        else:
            loaded = load_finance_cached(
                setup.finance, mapping_path=setup.finance_path, base_dir=base, as_of=as_of,
                cache_dir=state.cache_dir / "finance",
            )  # fmt: skip
    except FinanceDataError as exc:
        if len(exc.quarantine):
            state.record_quarantine(run_id, exc.quarantine)
        raise
    if len(loaded.quarantine):
        state.record_quarantine(run_id, loaded.quarantine)
    return loaded


def engine_frames(
    setup: Setup, state: StateDB, raws: dict[str, pd.DataFrame] | None = None
) -> dict[str, pd.DataFrame]:
    """Every mirrored canonical table, checked, typed and in the model currency; `raws`
    receives each table as the mirror holds it."""
    frames: dict[str, pd.DataFrame] = {}
    for table, om in setup.mapping.objects.items():
        if om is None:
            continue
        raw = state.mirror_frame(setup.name, table)
        if raws is not None:
            raws[table] = raw
        if raw.empty and table != "accounts":
            continue
        if raw.empty:
            raise DataError(
                f"connection '{setup.name}': no accounts were pulled from {setup.crm}; check the "
                f"mapping's objects.accounts and the integration user's access"
            )
        frames[table] = typed(setup, table, raw)
    return frames


def typed(setup: Setup, table: str, raw: pd.DataFrame) -> pd.DataFrame:
    source = f"{setup.crm} {table} (connection '{setup.name}')"
    columns = [c for c in TABLES[table].column_names if c in raw.columns]
    frame = coerce_table(table, raw[columns], source)
    return convert_currency(table, frame, setup.model.currency, dict(setup.model.rates), source)


def join_finance(
    loaded: FinanceLoad, frames: dict[str, pd.DataFrame]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Finance rows with account_id (unmatched rows left out) and the join's figures."""
    matched = match_accounts(loaded.frame, frames["accounts"])
    frame = matched.frame[matched.frame["account_id"].notna()]
    columns = [c for c in TABLES["finance"].column_names if c in frame.columns]
    finance = coerce_table("finance", frame[columns].reset_index(drop=True), "finance")
    info = {
        "rows": len(loaded.frame),
        "matched_by": matched.by_method,
        "unmatched_customers": len(matched.unmatched_finance),
        "unmatched_sample": matched.unmatched_finance.head(10)["erp_customer_id"].tolist(),
        "accounts_without_finance": len(matched.accounts_without_finance),
        "quarantined_rows": int(loaded.quarantine["line"].nunique())
        if len(loaded.quarantine)
        else 0,
        # file, line, column, reason of the first quarantined rows (never the value)
        "quarantined": loaded.quarantine[["file", "line", "column", "reason"]]
        .head(QUARANTINE_SHOWN)
        .astype({"line": "int64"})
        .to_dict("records"),
    }
    return finance, info


def labels_of(frame: pd.DataFrame, column: str, allowed: list[str]) -> pd.Series | None:
    """Quadrant labels per account_id from a mirror column; anything else -> missing."""
    if column not in frame.columns:
        return None
    values = frame[column].astype(object)
    values = values.where(values.isin(allowed), None)
    return pd.Series(values.to_numpy(), index=frame["account_id"].astype(str).to_numpy())


def compute_run(
    setup: Setup, state: StateDB, run_id: int, as_of: date, finance: FinanceLoad | None
) -> Inputs:
    """Frames from the mirror, finance joined, the engine run, scores stored."""
    raws: dict[str, pd.DataFrame] = {}
    frames = engine_frames(setup, state, raws)
    current: dict[str, pd.DataFrame] = {
        t: raws[t] for t in ("accounts", "opportunities") if t in frames
    }
    info: dict[str, Any] = {}
    if finance is not None:
        frames["finance"], info = join_finance(finance, frames)
        if finance.invoices is not None and "invoices" not in frames:
            frames["invoices"] = finance.invoices
    accounts = current["accounts"]
    labels = list(setup.model.quadrants.label_tuple())
    previous = labels_of(accounts, "quadrant", labels)
    overrides = labels_of(accounts, OVERRIDE_COLUMN, labels)
    ignored = 0
    if OVERRIDE_COLUMN in accounts.columns:
        given = accounts[OVERRIDE_COLUMN].astype(object)
        given = given.where(given.notna() & (given.astype(str) != ""), None)
        ignored = int(
            given.notna().sum() - (overrides.notna().sum() if overrides is not None else 0)
        )
    if ignored:
        log.warning(
            "%s: %d account(s) hold an override that is not a quadrant label; ignored",
            setup.name, ignored,
        )  # fmt: skip
    result = compute(
        frames, setup.model, as_of=as_of, previous_quadrants=previous, overrides=overrides
    )
    state.record_scores(
        run_id, result.accounts, result.opportunities, result.features, result.segments
    )
    return Inputs(current, result, info, ignored)
