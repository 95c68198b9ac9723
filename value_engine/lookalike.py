"""New logos: value predicted from look-alike customers, scaled by the deal amount.

A new logo (an account without revenue before as_of, or an opportunity whose account is
one) has no history of its own. Its value is borrowed from customers like it:

1. The look-alike group: customers of the same industry and size band. When that group
   has fewer than model.lookalike.min_group_size customers, the same industry; then the
   same size band; then all customers.
2. The group's value per euro of revenue: the median over the group of
   clv_gross / revenue_12m (lifetime value before acquisition cost per euro of annual
   revenue).
3. Predicted lifetime value = that median x the deal amount, taking the deal amount as
   the first year's revenue. Without an amount, the group's median revenue_12m is used.
   Nothing has been spent on acquisition yet, so clv = clv_gross for a new logo, and
   max_acquisition_cost = predicted clv / target_ltv_to_cac.
4. Confidence: high from the same industry and size band, medium from one of them, low
   from all customers or from a group smaller than min_group_size (when there are not
   that many customers in all), none without any customer to compare with; the reason
   states it.
5. Predicted value score = the median value score of the customers whose lifetime value
   lies in the same tenth (decile) of all customers' lifetime values as the prediction
   (made non-decreasing from decile to decile, so a bigger deal never scores lower).

The fit score of a new logo uses only the criteria on account attributes (industry, size
band, region, extra attributes): its ideal-customer-profile fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LEVEL_TEXT = ("same industry and size", "same industry", "same size band", "all customers")
CONFIDENCE = ("high", "medium", "low", "none")


def group_keys(industry: pd.Categorical, band: pd.Categorical) -> list[np.ndarray]:
    """Group numbers per level (industry+band, industry, band, all); -1 where unknown."""
    ind = np.asarray(industry.codes, dtype=np.int64)
    bnd = np.asarray(band.codes, dtype=np.int64)
    nb = max(len(band.categories), 1)
    both = np.where((ind >= 0) & (bnd >= 0), ind * nb + bnd, -1)
    return [both, ind, bnd, np.zeros(len(ind), dtype=np.int64)]


def predict(
    customers: pd.DataFrame, targets: pd.DataFrame, amount: np.ndarray, min_size: int
) -> pd.DataFrame:
    """clv_gross, value_score, lookalike_level and lookalike_size for each target row.

    `customers` has industry, size_band (categoricals), revenue_12m, clv_gross, value_score;
    `targets` has industry and size_band with the same categories.
    """
    n = len(targets)
    rev = customers["revenue_12m"].to_numpy()
    gross = customers["clv_gross"].to_numpy()
    usable = (rev > 0) & ~np.isnan(gross)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(usable, gross / rev, np.nan)
    c_keys = group_keys(customers["industry"].array, customers["size_band"].array)
    t_keys = group_keys(targets["industry"].array, targets["size_band"].array)
    level = np.full(n, len(c_keys) - 1, dtype=np.int64)
    size = np.zeros(n, dtype=np.int64)
    k_ratio = np.full(n, np.nan)
    k_rev = np.full(n, np.nan)
    chosen = np.zeros(n, dtype=bool)
    for lv, (ck, tk) in enumerate(zip(c_keys, t_keys, strict=True)):
        count, med_ratio, med_rev = _group_stats(ck[usable], ratio[usable], rev[usable])
        if len(count) == 0:  # nobody at this level has the key (e.g. no size bands at all)
            continue
        found = (tk >= 0) & (tk < len(count))
        g = np.where(found, tk, 0)
        enough = found & (count[g] >= (1 if lv == len(c_keys) - 1 else min_size))
        take = enough & ~chosen
        level[take], size[take] = lv, count[g][take]
        k_ratio[take], k_rev[take] = med_ratio[g][take], med_rev[g][take]
        chosen |= take
    basis = np.where(np.isnan(amount) | (amount <= 0), k_rev, amount)
    pred_gross = k_ratio * basis
    score = _score_from_clv(gross[usable], customers["value_score"].to_numpy()[usable], pred_gross)
    return pd.DataFrame(
        {
            "clv_gross": pred_gross,
            "value_score": score,
            "lookalike_level": level,
            "lookalike_size": size,
            "lookalike_confidence": confidence(level, size, min_size),
        }
    )


def confidence(level: np.ndarray, size: np.ndarray, min_size: int) -> pd.Categorical:
    """high: same industry and size band; medium: one of them; low: all customers or a group
    smaller than min_group_size; none: no customers to compare with."""
    codes = np.where(size == 0, 3, np.where(level == 0, 0, np.where(level < 3, 1, 2)))
    codes = np.where((size > 0) & (size < min_size), 2, codes)
    return pd.Categorical.from_codes(codes, categories=list(CONFIDENCE))


def _group_stats(
    keys: np.ndarray, ratio: np.ndarray, rev: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, median ratio and median revenue per group number (dense arrays)."""
    valid = keys >= 0
    if not valid.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    size = int(keys[valid].max()) + 1
    count = np.bincount(keys[valid], minlength=size)
    frame = pd.DataFrame({"k": keys[valid], "r": ratio[valid], "v": rev[valid]})
    med = frame.groupby("k", sort=True).median()
    med_ratio = np.full(size, np.nan)
    med_rev = np.full(size, np.nan)
    med_ratio[med.index.to_numpy()] = med["r"].to_numpy()
    med_rev[med.index.to_numpy()] = med["v"].to_numpy()
    return count, med_ratio, med_rev


def _score_from_clv(gross: np.ndarray, score: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """The median value score of customers in the same lifetime-value decile, non-decreasing."""
    if len(gross) == 0:
        return np.full(len(predicted), 50.0)
    edges = np.percentile(gross, np.arange(10, 100, 10))
    bins = np.searchsorted(edges, gross, side="right")
    per_bin = pd.Series(score).groupby(bins).median().reindex(range(10))
    table = np.maximum.accumulate(per_bin.ffill().bfill().to_numpy())
    target_bins = np.searchsorted(edges, np.nan_to_num(predicted, nan=-np.inf), side="right")
    return np.where(np.isnan(predicted), float(np.median(score)), table[target_bins])
