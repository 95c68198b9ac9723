"""Where a report's scores come from: a `valuesync score` output folder, the canonical input
files (recomputed with the engine, which also gives the what-if and the finance gaps), or
a run in the state database (a thin adapter over StateDB.scores / runs / rejected).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectors.finance.match import match_accounts
from mappings.errors import DataError, StateError
from sync.report.data import FinanceGaps, Scores
from value_engine import ValueModel, compute, horizon_scenarios, what_if
from value_engine.quadrants import thresholds
from value_engine.whatif import cost_scenarios

REQUIRED = ("account_id", "value_score", "fit_score", "quadrant")
DONE = ("succeeded", "succeeded_with_rejections", "planned")
"""Runs whose scores a report may show (a plan computes the same scores without writing)."""


def scores_from_frames(
    accounts: pd.DataFrame,
    opportunities: pd.DataFrame | None,
    model: ValueModel,
    *,
    source: str,
    as_of: str | None = None,
    cuts: tuple[float, float] | None = None,
    segments: pd.DataFrame | None = None,
) -> Scores:
    """Scores from engine-shaped frames; thresholds recomputed from the model when not given.

    The axes are named after the model's preset (persona alignment x customer value for
    persona_value); `segments` is EngineResult.segments when the source has it."""
    missing = [c for c in REQUIRED if c not in accounts.columns]
    if missing:
        raise DataError(
            f"{source}: column {', '.join(missing)} is missing; give the "
            "account_scores written by `valuesync score`"
        )
    labels = model.quadrants.label_tuple()
    unknown = sorted(set(accounts["quadrant"].dropna().astype(str)) - set(labels))
    if unknown:
        raise DataError(
            f"{source}: quadrant {unknown[0]!r} is not a label of the value model "
            f"({', '.join(labels)}); pass the model the scores were made with: --model FILE"
        )
    return Scores(
        accounts=accounts,
        opportunities=opportunities if opportunities is not None else pd.DataFrame(),
        labels=tuple(labels),
        cuts=cuts or model_cuts(accounts, model),
        currency=model.currency,
        source=source,
        as_of=as_of,
        axes=model.axis_names(),
        segments=segments,
    )


def model_cuts(accounts: pd.DataFrame, model: ValueModel) -> tuple[float, float]:
    """The thresholds as the engine draws them: percentiles of the customers' scores."""
    value = pd.to_numeric(accounts["value_score"], errors="coerce").to_numpy(dtype=float)
    fit = pd.to_numeric(accounts["fit_score"], errors="coerce").to_numpy(dtype=float)
    flag = accounts.get("is_customer", ~_bool(accounts.get("predicted", False), len(accounts)))
    population = _bool(flag, len(accounts)) & ~np.isnan(value) & ~np.isnan(fit)
    cuts = thresholds(value, fit, population, model.quadrants)
    return cuts.value, cuts.fit


def _bool(values: Any, n: int) -> np.ndarray:
    series = pd.Series(values, index=range(n)) if np.isscalar(values) else pd.Series(values)
    return np.asarray(series.astype(str).str.lower().eq("true").to_numpy(dtype=bool))


def read_scores_dir(directory: Path, model: ValueModel) -> Scores:
    """account_scores (and opportunity_scores, segment_scores) .csv|.parquet from a
    `valuesync score --out`."""
    accounts = _read_one(directory, "account_scores", required=True)
    assert accounts is not None
    opps = _read_one(directory, "opportunity_scores", required=False)
    segments = _read_one(directory, "segment_scores", required=False)
    if segments is not None and "segment" not in segments.columns:
        raise DataError(
            f"{directory}: segment_scores has no column segment; write it again with "
            "`valuesync score`"
        )
    return scores_from_frames(
        accounts, opps, model, source=f"scores {directory}", segments=segments
    )


def _read_one(directory: Path, stem: str, *, required: bool) -> pd.DataFrame | None:
    if not directory.is_dir():
        raise DataError(f"{directory}: not a folder; give the --out folder of `valuesync score`")
    for ext in ("parquet", "csv"):
        path = directory / f"{stem}.{ext}"
        if path.is_file():
            try:
                if ext == "parquet":
                    return pd.read_parquet(path)
                return pd.read_csv(
                    path, dtype={"account_id": str, "opportunity_id": str, "segment": str}
                )
            except (OSError, ValueError) as exc:
                raise DataError(
                    f"{path}: cannot be read ({type(exc).__name__}); "
                    "write it again with `valuesync score`"
                ) from None
    if required:
        raise DataError(
            f"{directory}: {stem}.csv or {stem}.parquet is missing; "
            f"write it with `valuesync score DIR --out {directory}`"
        )
    return None


def from_input(
    directory: Path, model: ValueModel, as_of: date
) -> tuple[Scores, pd.DataFrame, FinanceGaps | None, pd.DataFrame]:
    """Score the canonical files: (scores, what-if summary, finance gaps, account names)."""
    from sync.cli.score import read_tables

    frames = read_tables(directory, model)
    result = compute(frames, model, as_of=as_of)
    names = frames["accounts"][["account_id", "name"]].astype(str)
    accounts = result.accounts.merge(names, on="account_id", how="left")
    scores = scores_from_frames(
        accounts,
        result.opportunities,
        model,
        source=f"input {directory}",
        as_of=as_of.isoformat(),
        cuts=(result.cuts.value, result.cuts.fit),
        segments=result.segments,
    )
    summary = what_if(result.features, model, horizon_scenarios() + cost_scenarios()).summary
    return scores, summary, finance_gaps(frames), names


def finance_gaps(frames: Mapping[str, pd.DataFrame]) -> FinanceGaps | None:
    """Finance customers without an account, and accounts without finance (None: no finance)."""
    finance = frames.get("finance")
    if finance is None:
        return None
    match = match_accounts(finance, frames["accounts"])
    unmatched = match.unmatched_finance.rename(columns={"erp_customer_id": "ERP customer"})
    return FinanceGaps(unmatched, match.accounts_without_finance)


def with_names(scores: Scores, names: pd.DataFrame | None) -> Scores:
    """The scores with a name column from (account_id, name) pairs, where they have none."""
    if names is None or names.empty or "name" in scores.accounts.columns:
        return scores
    pairs = names[["account_id", "name"]].drop_duplicates("account_id")
    merged = scores.accounts.merge(pairs, on="account_id", how="left")
    return replace(scores, accounts=merged)


class StateSource:
    """Scores and run history of one connection in the state database."""

    def __init__(self, db: Any, connection: str, model: ValueModel) -> None:
        self.db = db
        self.connection = connection
        self.model = model

    def latest(self) -> int:
        """The newest finished run of the connection that stored scores."""
        for run in self.db.runs(self.connection, limit=50):
            if run["status"] in DONE and self._has_scores(run["id"]):
                return int(run["id"])
        raise StateError(
            f"connection '{self.connection}' has no finished run with scores in {self.db!r}; "
            "run `valuesync run` first, or report on files with --scores DIR"
        )

    def previous(self, run_id: int) -> int | None:
        """The newest finished run with scores before `run_id`, or None."""
        for run in self.db.runs(self.connection, limit=50):
            if run["id"] < run_id and run["status"] in DONE and self._has_scores(run["id"]):
                return int(run["id"])
        return None

    def _has_scores(self, run_id: int) -> bool:
        return bool(self.db.has_scores(run_id, "accounts"))

    def scores(self, run_id: int) -> Scores:
        """A run's stored scores, named from the mirror."""
        run = self.db.run(run_id)
        if run["connection"] != self.connection:
            raise StateError(
                f"run {run_id} belongs to connection '{run['connection']}', "
                f"not '{self.connection}'; pass --connection {run['connection']}"
            )
        accounts = self.db.scores(run_id, "accounts")
        if accounts.empty:
            raise StateError(
                f"run {run_id} stored no scores (status {run['status']}); "
                "pick a finished run with --run ID"
            )
        opps = self.db.scores(run_id, "opportunities")
        segments = self.db.scores(run_id, "segments")
        as_of = (run.get("counts") or {}).get("as_of")
        scores = scores_from_frames(
            accounts, opps, self.model, as_of=as_of, source=f"run {run_id} of {self.connection}",
            segments=None if segments.empty else segments,
        )  # fmt: skip
        return with_names(scores, self.names())

    def names(self) -> pd.DataFrame | None:
        mirror = self.db.mirror_frame(self.connection, "accounts")
        if mirror.empty or "name" not in mirror.columns:
            return None
        return mirror[["account_id", "name"]].astype(str)

    def health(self, run_id: int) -> tuple[list[dict[str, Any]], pd.DataFrame]:
        """The last runs (newest first) and the given run's rejected records."""
        return self.db.runs(self.connection, limit=10), self.db.rejected(run_id)
