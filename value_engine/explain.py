"""Reasons: the top drivers of each record's position, as text of at most 255 characters.

A driver is a criterion of the value or fit score; its weight is its contribution
weight x (points - 50) / total weight, i.e. how far it pushed the score away from the
neutral 50. The three largest (by size, either direction) become short phrases from the
feature catalogue ("Margin 35% (top 15%)", "high service effort (9% of revenue)", "pays
on time"), joined with "; ". Criteria without data are not drivers; they are listed at
the end ("no data: payment"). Contributions under half a point are left out.

Phrases are formatted once per distinct (value, rank) combination and then looked up,
so the cost stays linear in the rows and small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from value_engine.catalog import FEATURE_BY_NAME, Feature
from value_engine.model import Criterion
from value_engine.scoring import AxisScores

MAX_REASON = 255
MAX_PHRASE = 70
MIN_CONTRIBUTION = 0.5
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}
TEXT = pd.StringDtype("pyarrow")


@dataclass(frozen=True)
class Part:
    """One part of the reasons: distinct texts and, per row, which one (-1: none)."""

    table: list[str]
    codes: np.ndarray


def reasons(
    features: pd.DataFrame,
    axes: Sequence[AxisScores],
    currency: str,
    prefix: Sequence[Part] = (),
    slots: int = 3,
) -> pd.Series:
    """The reason text of every row (a string Series with a fresh 0..n-1 index)."""
    crits = [c for a in axes for c in a.criteria]
    n = len(features)
    parts = list(prefix)
    if crits:
        contrib = np.hstack([a.contributions for a in axes])
        points = np.hstack([a.points for a in axes])
        missing = np.hstack([a.missing for a in axes])
        size = np.where(missing, 0.0, np.abs(contrib))
        order = _top(size, slots)
        rows = np.arange(n)
        for s in range(order.shape[1]):
            j = order[:, s]
            strong = size[rows, j] >= MIN_CONTRIBUTION
            codes = np.full(n, -1, dtype=np.int64)
            table: list[str] = []
            for jj in np.unique(j[strong]):
                sel = np.flatnonzero(strong & (j == jj))
                good = contrib[sel, jj] > 0
                local, texts = _phrases(features, crits[jj], points[sel, jj], good, sel, currency)
                codes[sel] = local + len(table)
                table += texts
            parts.append(Part(table, codes))
        parts.append(_missing_part(missing, crits))
    return join(parts, n)


def _top(size: np.ndarray, slots: int) -> np.ndarray:
    """Column indices of the `slots` largest values per row, largest first (ties: lower index).

    A partial selection, then a sort of the few candidates: much cheaper than sorting every
    row in full. A tiny penalty per column position makes ties resolve to the lower index.
    """
    k = size.shape[1]
    key = size - np.arange(k) * 1e-9
    if k <= slots:
        return np.argsort(-key, axis=1, kind="stable")
    candidates = np.argpartition(-key, slots - 1, axis=1)[:, :slots]
    order = np.argsort(-np.take_along_axis(key, candidates, axis=1), axis=1, kind="stable")
    return np.take_along_axis(candidates, order, axis=1)


def join(parts: Sequence[Part], n: int) -> pd.Series:
    """Join the parts present in each row with '; ', the first one capitalised, max 255."""
    if not parts:
        return pd.Series(pd.array([""] * n, dtype=TEXT))
    present = np.stack([p.codes >= 0 for p in parts])
    first = np.argmax(present, axis=0)
    result = None
    for i, part in enumerate(parts):
        m = len(part.table)
        table = [t[:1].upper() + t[1:] for t in part.table] + ["; " + t for t in part.table] + [""]
        idx = np.where(part.codes < 0, 2 * m, part.codes + np.where(first < i, m, 0))
        column = pd.array(table, dtype=TEXT).take(idx)
        result = column if result is None else result + column
    return pd.Series(result).str.slice(0, MAX_REASON)


def _phrases(
    features: pd.DataFrame,
    crit: Criterion,
    points: np.ndarray,
    good: np.ndarray,
    sel: np.ndarray,
    currency: str,
) -> tuple[np.ndarray, list[str]]:
    """Per selected row, the code of its phrase; and the distinct phrases."""
    feature = _feature(crit)
    raw = features[crit.feature].to_numpy()[sel]
    keys, values = _value_keys(raw, feature.display)
    top = np.clip(np.rint(100.0 - points), 1, 100).astype(np.int64)
    combo = (keys.astype(np.int64) + 1) * 202 + top * 2 + good.astype(np.int64)
    codes, uniques = pd.factorize(combo)
    texts = []
    for u in uniques:
        key, rest = divmod(int(u), 202)
        t, is_good = divmod(rest, 2)
        template = (crit.good_text or feature.good) if is_good else (crit.bad_text or feature.bad)
        value = _display(values[key - 1], feature.display, currency) if key > 0 else "n/a"
        text = template.format(value=value, top=t, bottom=max(1, 100 - t), label=feature.label)
        texts.append(text[:MAX_PHRASE])
    return codes.astype(np.int64), texts


def _feature(crit: Criterion) -> Feature:
    known = FEATURE_BY_NAME.get(crit.feature)
    label = crit.label or (known.label if known else crit.feature.replace("_", " "))
    if known is None:
        return Feature(crit.feature, label, "text", f"{label} {{value}} fits", f"{label} {{value}}")
    return Feature(known.name, label, known.display, known.good, known.bad, known.numeric)


def _value_keys(raw: np.ndarray, display: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the distinct printed values, and those values (code -1: empty)."""
    if display == "text":
        codes, uniques = pd.factorize(pd.Series(raw, dtype=object))
        return codes, np.asarray(uniques, dtype=object)
    x = np.asarray(raw, dtype=np.float64)
    if display == "pct":
        key = np.rint(x * 100.0)
    elif display == "ratio":
        key = np.round(x, 1)
    elif display == "money":
        scale = np.where(np.abs(x) < 1e3, 1.0, np.where(np.abs(x) < 1e6, 1e3, 1e5))
        key = np.rint(x / scale) * scale
    else:
        key = np.rint(x)
    codes, uniques = pd.factorize(key)
    return codes, np.asarray(uniques)


def _display(value: object, display: str, currency: str) -> str:
    if display == "text":
        return str(value)
    v = float(value)  # type: ignore[arg-type]
    if display == "pct":
        return f"{v:.0f}%"
    if display == "ratio":
        return f"{v:.1f}"
    if display == "money":
        return money(v, currency)
    return f"{v:.0f}"


def money(v: float, currency: str) -> str:
    """€850, €35k, €1.2M (the currency's symbol, else its code and a space)."""
    sign, v = ("-" if v < 0 else ""), abs(v)
    unit = SYMBOLS.get(currency, f"{currency} ")
    if v < 1e3:
        return f"{sign}{unit}{v:.0f}"
    if v < 1e6:
        return f"{sign}{unit}{v / 1e3:.0f}k"
    return f"{sign}{unit}{v / 1e6:.1f}M"


def _missing_part(missing: np.ndarray, crits: Sequence[Criterion]) -> Part:
    """'no data: margin, payment' for the criteria (with weight) a row has no data for.

    A criterion nobody has data for (e.g. advocacy signals that are not mapped) is left out:
    that is a choice of the mapping, not a gap in one record.
    """
    mapped = ~np.asarray(missing.all(axis=0), dtype=bool)
    weighted = [j for j, c in enumerate(crits) if c.weight > 0 and mapped[j]][:62]
    bits = np.zeros(missing.shape[0], dtype=np.int64)
    for j in weighted:
        bits |= missing[:, j].astype(np.int64) << j
    codes, uniques = pd.factorize(bits)
    table: list[str] = []
    lookup = np.full(len(uniques), -1, dtype=np.int64)
    for u_i, u in enumerate(uniques):
        labels = list(dict.fromkeys(_feature(crits[j]).label for j in weighted if int(u) >> j & 1))
        if labels:
            more = f" +{len(labels) - 3} more" if len(labels) > 3 else ""
            lookup[u_i] = len(table)
            table.append(f"no data: {', '.join(labels[:3])}{more}")
    return Part(table, lookup[codes])


def replace_rows(base: pd.Series, rows: np.ndarray, values: pd.Series) -> pd.Series:
    """`base` with the given rows replaced by `values` (without a per-row loop)."""
    combined = pd.concat([base, values], ignore_index=True)
    idx = np.arange(len(base))
    idx[rows] = len(base) + np.arange(len(rows))
    return combined.take(idx).reset_index(drop=True)
