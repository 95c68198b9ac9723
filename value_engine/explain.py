"""Reasons: what decided each record's quadrant and action, as text of at most 255 characters.

Drivers are measured against the thresholds that decided the quadrant: a criterion's pull
is share x (points - threshold), where share is its weight over the row's total weight;
the pulls of an axis add up to score - threshold. On an axis where the record is on the
high side, the strongest positive pulls are its strengths; on an axis where it is on the
low side, the strongest negative pulls are what to fix ("fix: ..."). So a reason lists:

1. given parts (quadrant set by hand, the look-alike prediction of a new logo);
2. the economic guardrail that held the record back, as a fix ("fix: margin -€5k,
   loss-making"; "fix: no purchase for 6 months, 3% likely still active");
3. strengths (up to 3 for a record high on both axes, else up to 2);
4. "fix: ..." with the weakest criteria of each low axis (a record low on an axis always
   gets one: its score is under the threshold, so some pull is negative);
5. "no data: ..." for weighted criteria the record has no value for.

Each phrase states the feature's value (from the catalogue, value_engine.catalog); a
percentile criterion adds the rank among customers ("best 5%", "worst 10%"). A feature
label (e.g. "margin", "payment") appears at most once per reason, so no phrase repeats.
Reasons are cut at the last whole phrase within 255 characters.

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
    sep: str = "; "
    """What joins this part to the one before it in a row."""


@dataclass(frozen=True)
class Side:
    """One axis of a record's decision: its scores, its threshold, and which rows are high."""

    scores: AxisScores
    cut: float
    high: np.ndarray


def reasons(
    features: pd.DataFrame,
    sides: Sequence[Side],
    currency: str,
    prefix: Sequence[Part] = (),
    slots: int = 3,
    fix_word: str = "fix",
    taken: Sequence[tuple[str, np.ndarray]] = (),
) -> pd.Series:
    """The reason text of every row (a string Series with a fresh 0..n-1 index).

    `taken`: (feature label, rows) already stated by a prefix, not to be repeated.
    """
    n = len(features)
    parts = list(prefix)
    crits = [c for side in sides for c in side.scores.criteria]
    if not crits:
        return join(parts, n)
    pull = np.hstack([side.scores.against(side.cut) for side in sides])
    points = np.hstack([side.scores.points for side in sides])
    missing = np.hstack([side.scores.missing for side in sides])
    high = np.hstack(
        [np.repeat(side.high[:, None], len(side.scores.criteria), axis=1) for side in sides]
    )
    names = [_feature(c).label for c in crits]
    labels = pd.factorize(pd.Series(names))[0]
    used = np.zeros((n, int(labels.max()) + 1), dtype=bool)
    for label, rows in taken:
        if label in names:
            used[rows, labels[names.index(label)]] = True
    all_high = np.logical_and.reduce([side.high for side in sides])
    # Large populations: each n x k matrix is 8 bytes a cell, so the ones no longer needed
    # are dropped at once and the rest is computed in place.
    strong = np.where(missing | ~high, -np.inf, pull)
    weak = np.negative(pull, out=pull)
    weak[missing | high] = -np.inf
    del high, pull
    for s in range(slots):
        allowed = np.ones(n, dtype=bool) if s < slots - 1 else all_high
        parts.append(_slot(features, crits, strong, points, labels, used, allowed, currency, ""))
    low_any = ~all_high
    # The first fix comes from the first low axis, the second from the other low axis when
    # both are low (else from the same): each low axis says what to fix on it.
    axis_of = np.repeat(np.arange(len(sides)), [len(side.scores.criteria) for side in sides])
    lows = np.stack([~side.high for side in sides], axis=1)
    first_low = np.argmax(lows, axis=1)
    last_low = len(sides) - 1 - np.argmax(lows[:, ::-1], axis=1)
    del strong
    one = np.where(axis_of[None, :] == first_low[:, None], weak, -np.inf)
    fix = _slot(features, crits, one, points, labels, used, low_any, currency, fix_word, True)
    del one
    weak[axis_of[None, :] != last_low[:, None]] = -np.inf
    more = _slot(features, crits, weak, points, labels, used, fix.codes >= 0, currency, "-")
    parts += [fix, Part(more.table, more.codes, ", ")]
    parts.append(_missing_part(missing, crits))
    return join(parts, n)


def _slot(
    features: pd.DataFrame,
    crits: Sequence[Criterion],
    size: np.ndarray,
    points: np.ndarray,
    labels: np.ndarray,
    used: np.ndarray,
    rows: np.ndarray,
    currency: str,
    lead: str,
    always: bool = False,
) -> Part:
    """The best remaining criterion per row (a label not used yet) as one phrase."""
    n = len(features)
    masked = np.where(used[:, labels], -np.inf, size)
    masked -= np.arange(size.shape[1]) * 1e-9  # ties: the criterion listed first
    j = np.argmax(masked, axis=1)
    best = masked[np.arange(n), j] + j * 1e-9
    take = rows & np.isfinite(best) & ((best >= MIN_CONTRIBUTION) | always)
    codes = np.full(n, -1, dtype=np.int64)
    table: list[str] = []
    for jj in np.unique(j[take]):
        sel = np.flatnonzero(take & (j == jj))
        good = not lead
        local, texts = _phrases(features, crits[jj], points[sel, jj], good, sel, currency)
        codes[sel] = local + len(table)
        table += [f"{lead}: {t}" if lead not in ("", "-") else t for t in texts]
    rows_taken = np.flatnonzero(take)
    used[rows_taken, labels[j[rows_taken]]] = True
    return Part(table, codes)


def join(parts: Sequence[Part], n: int) -> pd.Series:
    """Join the parts present in each row with '; ', the first one capitalised, max 255.

    Rows are grouped by their combination of phrases first: each distinct reason is built
    once in Python and then looked up, so one text array is made, not one per part.
    """
    if not parts:
        return pd.Series(pd.array([""] * n, dtype=TEXT))
    key = np.zeros(n, dtype=np.int64)
    for part in parts:
        key, _ = pd.factorize(key * (len(part.table) + 1) + (part.codes + 1))
        key = key.astype(np.int64, copy=False)
    _, first_row = np.unique(key, return_index=True)
    chosen = np.stack([np.asarray(part.codes)[first_row] for part in parts], axis=1)
    texts = [_fit(_one_reason(parts, row)) for row in chosen.tolist()]
    return pd.Series(pd.array(texts, dtype=TEXT).take(key))


def _one_reason(parts: Sequence[Part], codes: list[int]) -> str:
    pieces: list[str] = []
    for part, code in zip(parts, codes, strict=True):
        if code >= 0:
            text = part.table[code]
            pieces.append(part.sep + text if pieces else text[:1].upper() + text[1:])
    return "".join(pieces)


def _fit(text: str) -> str:
    """A text over 255 characters cut after the last whole phrase that fits.

    Cut once per distinct reason, before the reasons are spread over the rows.
    """
    if len(text) <= MAX_REASON:
        return text
    cut = text[: MAX_REASON + 2].rfind("; ")
    return text[:cut] if 0 < cut <= MAX_REASON else text[:MAX_REASON]


def _phrases(
    features: pd.DataFrame,
    crit: Criterion,
    points: np.ndarray,
    good: bool,
    sel: np.ndarray,
    currency: str,
) -> tuple[np.ndarray, list[str]]:
    """Per selected row, the code of its phrase; and the distinct phrases."""
    feature = _feature(crit)
    raw = features[crit.feature].to_numpy()[sel]
    keys, values = _value_keys(raw, feature.display)
    ranked = crit.transform == "percentile"
    rank = np.clip(np.rint(100.0 - points if good else points), 1, 100).astype(np.int64)
    rank = rank if ranked else np.zeros(len(sel), dtype=np.int64)
    codes, uniques = pd.factorize((keys.astype(np.int64) + 1) * 101 + rank)
    texts = []
    template = (crit.good_text or feature.good) if good else (crit.bad_text or feature.bad)
    for u in uniques:
        key, r = divmod(int(u), 101)
        value = _display(values[key - 1], feature.display, currency) if key > 0 else "n/a"
        text = template.format(value=value, label=feature.label, top=r, bottom=r)
        if ranked and r <= 50:
            text += f" ({'best' if good else 'worst'} {r}%)"
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
    if display in ("pct", "change"):
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
    if display == "change":
        return f"{v:+.0f}%"
    if display == "days":
        return "1 day" if round(v) == 1 else f"{v:.0f} days"
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
