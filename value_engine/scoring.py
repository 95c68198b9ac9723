"""Value and fit scores: weighted sums of criteria, each turned into 0-100 points.

Points per criterion:
- percentile: where the account stands among the scored population (customers with a
  value for the feature): 0 for the lowest, 100 for the highest, ties share their average
  rank, so the order of the input rows never matters. Formally (less + less_or_equal - 1)
  / (2 x (n - 1)) x 100, with `less` the number of population values below the account's.
- linear: 0 at the first bound, 100 at the second, straight in between, clipped.
- category: the points the model gives the account's category, `other_points` otherwise.
With direction lower_is_better, points become 100 - points (not for category).

Missing data, per criterion: `neutral` gives 50 points, `worst` 0, `exclude` drops the
criterion for that account (its weight goes to the others). The reason lists it.

Before ranking, values are rounded to the precision that means something (shares and
ratios to 0.01 %, money to cents), so ties are ties and float noise never decides a rank.

Score = sum(weight x points) / sum(weight), over the criteria that count for the account;
with no criterion left, 50. A criterion's contribution to the position is
weight x (points - 50) / sum(weight): the contributions add up to score - 50.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from value_engine.catalog import ATTRIBUTES, FEATURE_BY_NAME
from value_engine.model import Axis, Criterion

NEUTRAL = 50.0


@dataclass(frozen=True)
class AxisScores:
    """A score and, per criterion (columns in model order), its points and contribution."""

    score: np.ndarray
    points: np.ndarray
    contributions: np.ndarray
    missing: np.ndarray
    criteria: tuple[Criterion, ...]
    shares: np.ndarray
    """Each criterion's weight / the row's total weight (0 where it does not count)."""

    def take(self, rows: np.ndarray) -> AxisScores:
        """The same scores for a subset of rows."""
        return AxisScores(
            self.score[rows], self.points[rows], self.contributions[rows], self.missing[rows],
            self.criteria, self.shares[rows],
        )  # fmt: skip

    def scores_only(self) -> AxisScores:
        """The scores without the per-criterion matrices (rows x criteria, 8 bytes a cell),
        for steps that need no explanation any more."""
        none = np.empty((len(self.score), 0))
        return AxisScores(self.score, none, none, none.astype(bool), (), none)

    def against(self, cut: float) -> np.ndarray:
        """Each criterion's pull towards or away from a threshold: share x (points - cut).

        The pulls of a row add up to its score - cut (before clipping to 0-100).
        """
        return np.asarray(self.shares * (self.points - cut))


def criterion_points(
    values: pd.Series | np.ndarray, crit: Criterion, reference: np.ndarray
) -> np.ndarray:
    """0-100 points per row, NaN where the value is missing.

    `reference` holds the population's values of the feature (for percentiles).
    """
    if crit.transform == "category":
        return _category_points(values, crit)
    x = np.asarray(values, dtype=np.float64)
    if crit.transform == "linear":
        lo, hi = crit.bounds  # type: ignore[misc]
        pts = np.clip((x - lo) / (hi - lo), 0.0, 1.0) * 100.0
    else:
        pts = percentile_points(x, np.asarray(reference, dtype=np.float64))
    if crit.direction == "lower_is_better":
        pts = 100.0 - pts
    return pts


def percentile_points(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Average-rank percentile (0-100) of each value among the reference's non-empty values."""
    ref = np.sort(reference[~np.isnan(reference)])
    n = len(ref)
    if n == 0:
        return np.full(len(x), np.nan)
    if n == 1:
        return np.where(np.isnan(x), np.nan, NEUTRAL)
    order = np.argsort(x, kind="stable")  # sorted queries make the binary searches cheap
    xs = x[order]
    less = np.searchsorted(ref, xs, side="left")
    less_eq = np.searchsorted(ref, xs, side="right")
    pts = np.empty(len(x))
    pts[order] = np.clip((less + less_eq - 1) / (2.0 * (n - 1)), 0.0, 1.0) * 100.0
    return np.where(np.isnan(x), np.nan, pts)


def _category_points(values: pd.Series | np.ndarray, crit: Criterion) -> np.ndarray:
    cat = pd.Categorical(values)
    table = [crit.points.get(str(c), crit.other_points) for c in cat.categories]
    return np.asarray(np.append(np.asarray(table, dtype=np.float64), np.nan)[cat.codes])


def axis_scores(
    features: pd.DataFrame,
    axis: Axis,
    population: np.ndarray,
    reference: pd.DataFrame | None = None,
    icp_only: bool = False,
) -> AxisScores:
    """The score of one axis for every row of `features`.

    Percentiles rank against the `population` rows of `reference` (default: `features`);
    `icp_only` keeps only the criteria on account attributes.
    """
    ref = features if reference is None else reference
    criteria = tuple(c for c in axis.criteria if not icp_only or is_icp_criterion(c))
    n, k = len(features), len(criteria)
    points = np.empty((n, k))
    weights = np.empty((n, k))
    missing = np.zeros((n, k), dtype=bool)
    for j, crit in enumerate(criteria):
        pop_values = _population_values(ref, crit, population)
        values = features[crit.feature]
        if crit.transform == "percentile":
            values = meaningful(values.to_numpy(dtype=np.float64, na_value=np.nan), crit.feature)
        pts = criterion_points(values, crit, pop_values)
        missing[:, j] = np.isnan(pts)
        fill = {"neutral": NEUTRAL, "worst": 0.0, "exclude": NEUTRAL}[crit.missing]
        points[:, j] = np.where(missing[:, j], fill, pts)
        drop = missing[:, j] if crit.missing == "exclude" else np.zeros(n, dtype=bool)
        weights[:, j] = np.where(drop, 0.0, crit.weight)
    total = weights.sum(axis=1)
    safe = np.where(total > 0, total, 1.0)[:, None]
    shares = weights / safe
    contributions = shares * (points - NEUTRAL)
    score = np.where(total > 0, NEUTRAL + contributions.sum(axis=1), NEUTRAL)
    return AxisScores(np.clip(score, 0.0, 100.0), points, contributions, missing, criteria, shares)


def _population_values(ref: pd.DataFrame, crit: Criterion, population: np.ndarray) -> np.ndarray:
    if crit.transform != "percentile":
        return np.empty(0)
    values = ref[crit.feature].to_numpy(dtype=np.float64, na_value=np.nan)[population]
    return meaningful(values, crit.feature)


def meaningful(values: np.ndarray, feature: str) -> np.ndarray:
    """Values rounded to the precision that means something, so that float noise never
    breaks a tie: shares and ratios to 4 decimals (0.01 %), money and counts to cents."""
    known = FEATURE_BY_NAME.get(feature)
    decimals = 4 if known is not None and known.display in ("pct", "change", "ratio") else 2
    return np.round(values, decimals)


def is_icp_criterion(crit: Criterion) -> bool:
    """A criterion known before anything was bought: an account attribute, or the alignment
    of the account's segment."""
    return (
        crit.feature in ATTRIBUTES
        or crit.feature == "segment_alignment"
        or crit.feature not in FEATURE_BY_NAME
    )
