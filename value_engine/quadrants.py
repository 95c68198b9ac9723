"""Value quadrants: thresholds on the two scores, hysteresis, labels.

An account is "high value" when its value score is at or above the value threshold, and
"high fit" likewise. With method `percentile` the threshold is that percentile of the
scored customers' scores (50 = the median customer); with `absolute` it is the score
itself. The four combinations get the labels of the preset, in this order:
high value + high fit, high value + low fit, low value + high fit, low value + low fit
(value_matrix: Core, Fix or Reprice, Develop, Deprioritize).

Small or uniform populations: percentiles need customers to compare with. With fewer than
`min_population` scored customers, or when every customer has the same score on an axis,
that axis uses the configured threshold as an absolute score instead (50 = the neutral
score), so one customer, or twenty identical ones, get an absolute answer.

The floors of value_engine.accounts come on top: the high-value side needs both the score
and the floors, whatever the thresholds and the hysteresis say.

Hysteresis: when the previous quadrant is known and a score lies less than `hysteresis`
points from its threshold, the account keeps its previous side of that threshold, so a
small wobble does not move it back and forth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mappings.errors import DataError
from value_engine.frames import label_codes
from value_engine.model import Quadrants


@dataclass(frozen=True)
class Cuts:
    """The score thresholds of the two axes."""

    value: float
    fit: float


def thresholds(value: np.ndarray, fit: np.ndarray, population: np.ndarray, q: Quadrants) -> Cuts:
    """The thresholds as scores: percentiles of the population, or the absolute values."""
    count = int(population.sum())
    if q.method == "absolute" or count < q.min_population:
        return Cuts(q.value_threshold, q.fit_threshold)
    return Cuts(
        _cut(value[population], q.value_threshold),
        _cut(fit[population], q.fit_threshold),
    )


def _cut(scores: np.ndarray, threshold: float) -> float:
    """The percentile of the scores, or the threshold itself when they do not differ."""
    scores = scores[~np.isnan(scores)]
    if len(scores) == 0 or np.ptp(np.round(scores, 6)) == 0:
        return threshold
    return float(np.percentile(scores, threshold))


def high_side(scores: np.ndarray, cut: float, band: float, previous: np.ndarray) -> np.ndarray:
    """True where the score is on the high side; near the cut, the previous side holds.

    `previous` is 1.0 (was high), 0.0 (was low) or NaN (unknown) per row.
    """
    high = scores >= cut
    keep = (np.abs(scores - cut) < band) & ~np.isnan(previous)
    return np.where(keep, previous == 1.0, high)


def assign(
    value: np.ndarray,
    fit: np.ndarray,
    cuts: Cuts,
    q: Quadrants,
    previous: pd.Series | None,
    allowed_high: np.ndarray | None = None,
) -> pd.Categorical:
    """The quadrant label of every row (`previous`: labels aligned with the rows, or None).

    `allowed_high`: rows that pass the economic floors; the others are never high value.
    """
    prev_v, prev_f = decode(previous, q, len(value))
    value_high = high_side(value, cuts.value, q.hysteresis, prev_v)
    if allowed_high is not None:
        value_high = value_high & allowed_high
    fit_high = high_side(fit, cuts.fit, q.hysteresis, prev_f)
    return from_sides(value_high, fit_high, q)


def from_sides(value_high: np.ndarray, fit_high: np.ndarray, q: Quadrants) -> pd.Categorical:
    """Labels from the two sides: code 0 = high/high, 1 = high/low, 2 = low/high, 3 = low/low."""
    codes = (~value_high).astype(np.int8) * 2 + (~fit_high).astype(np.int8)
    return pd.Categorical.from_codes(codes, categories=list(q.label_tuple()))


def decode(labels: pd.Series | None, q: Quadrants, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(value was high, fit was high) as 1.0 / 0.0 / NaN for each label; unknown labels -> NaN."""
    if labels is None:
        return np.full(n, np.nan), np.full(n, np.nan)
    codes = label_codes(labels, q.label_tuple())
    value_high = np.where(codes < 0, np.nan, (codes < 2).astype(np.float64))
    fit_high = np.where(codes < 0, np.nan, (codes % 2 == 0).astype(np.float64))
    return value_high, fit_high


def bands(
    quadrant: pd.Categorical, q: Quadrants, allowed_high: np.ndarray | None = None
) -> tuple[pd.Categorical, pd.Categorical]:
    """value_band and fit_band ('high' / 'low') of quadrant labels, for rules.

    Rows not `allowed_high` (loss-making, below a floor, or not yet a customer) get value
    band 'low' even when a quadrant set by hand says otherwise.
    """
    value_high, fit_high = decode(pd.Series(quadrant), q, len(quadrant))
    if allowed_high is not None:
        value_high = np.where(np.isnan(value_high) | allowed_high, value_high, 0.0)
    return _band(value_high), _band(fit_high)


def _band(high: np.ndarray) -> pd.Categorical:
    codes = np.where(np.isnan(high), -1, np.where(high == 1.0, 0, 1))
    return pd.Categorical.from_codes(codes, categories=["high", "low"])


def align(labels: pd.Series | None, ids: pd.Index, q: Quadrants, what: str) -> pd.Series | None:
    """Labels per account id, aligned with `ids`; for overrides an unknown label is an error."""
    if labels is None:
        return None
    if labels.index.has_duplicates:
        raise DataError(f"{what}: an account appears more than once; give one label per account")
    aligned = labels.reindex(ids)
    if what == "overrides":
        known = pd.Series(aligned).isin(list(q.label_tuple())) | aligned.isna()
        if not known.all():
            count = int((~known).sum())
            raise DataError(
                f"overrides: {count} account(s) carry a label that is not a quadrant; "
                f"allowed: {', '.join(q.label_tuple())}"
            )
    return aligned.reset_index(drop=True)
