"""Economic guardrails: loss-making accounts and the absolute floors of the high-value side.

An account is loss-making when it is a customer and its margin_12m, its monthly
contribution or its lifetime value is below zero. The high-value side needs, besides a
value score at or above the threshold: not loss-making, and each floor of
`quadrants.floors` met: lifetime value >= min_clv, margin_12m >= min_margin, probability
of still being active >= min_active_probability. An empty figure (e.g. no cost data)
passes the floor it is compared with. The first guardrail an account fails is stated at
the start of its reason ("loss-making: margin -€5k in 12 months", "inactive: 6 months
without purchase, 3% likely still active").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from value_engine.explain import Part, money
from value_engine.model import Floors

CHECKS = (
    ("margin_12m", "margin", "loss-making: margin {value} in 12 months"),
    (
        "monthly_contribution",
        "margin after service",
        "loss-making: loses {value} a month after serving",
    ),
    ("clv", "lifetime value", "loss-making: lifetime value {value}"),
)


def loss_making(work: pd.DataFrame) -> np.ndarray:
    """Customers with a negative margin, monthly contribution or lifetime value."""
    negative = np.zeros(len(work), dtype=bool)
    for name, _, _ in CHECKS:
        negative |= np.nan_to_num(work[name].to_numpy(dtype=np.float64), nan=0.0) < 0
    return np.asarray(negative & work["is_customer"].to_numpy(), dtype=bool)


def _floors(floors: Floors) -> list[tuple[str, float, str, str]]:
    out = []
    if floors.min_active_probability is not None:
        out.append(
            (
                "active_probability",
                floors.min_active_probability,
                "activity",
                "inactive: {months} months without purchase, {value} likely still active",
            )
        )
    if floors.min_clv is not None:
        out.append(
            (
                "clv",
                floors.min_clv,
                "lifetime value",
                "lifetime value {value} under the floor {floor}",
            )
        )
    if floors.min_margin is not None:
        out.append(
            ("margin_12m", floors.min_margin, "margin", "margin {value} under the floor {floor}")
        )
    return out  # fmt: skip


def passes_floors(work: pd.DataFrame, floors: Floors) -> np.ndarray:
    """Rows that may be on the high-value side: not loss-making, and every floor met."""
    ok = ~loss_making(work)
    for name, floor, _, _ in _floors(floors):
        values = work[name].to_numpy(dtype=np.float64)
        ok &= np.isnan(values) | (values >= floor)
    return np.asarray(ok, dtype=bool)


def guard_part(
    work: pd.DataFrame, floors: Floors, currency: str
) -> tuple[Part, list[tuple[str, np.ndarray]]]:
    """The first guardrail each row fails, as a phrase; and the feature labels it states."""
    n = len(work)
    done = ~work["is_customer"].to_numpy().copy()
    texts: list[str] = []
    codes = np.full(n, -1, dtype=np.int64)
    taken: list[tuple[str, np.ndarray]] = []
    checks = [(name, 0.0, label, t) for name, label, t in CHECKS] + _floors(floors)
    for name, floor, label, template in checks:
        values = work[name].to_numpy(dtype=np.float64)
        hit = ~done & ~np.isnan(values) & (values < floor)
        if not hit.any():
            continue
        rows = np.flatnonzero(hit)
        shown = _shown(name, values[rows], work, rows, currency)
        keys, uniques = pd.factorize(pd.Series(shown))
        for text in uniques:
            texts.append(template.format(**_fields(text, floor, name, currency)))
        codes[rows] = keys + len(texts) - len(uniques)
        taken.append((label, rows))
        done |= hit
    return Part(texts, codes), taken


def _shown(
    name: str, values: np.ndarray, work: pd.DataFrame, rows: np.ndarray, currency: str
) -> list[str]:
    if name == "active_probability":
        months = work["months_since_active"].to_numpy()[rows]
        return [f"{m:.0f}|{v * 100:.0f}%" for m, v in zip(months, values, strict=True)]
    if name == "monthly_contribution":
        values = np.abs(values)
    return [money(float(v), currency) for v in values]


def _fields(text: str, floor: float, name: str, currency: str) -> dict[str, str]:
    if name == "active_probability":
        months, value = text.split("|")
        return {"months": months, "value": value, "floor": f"{floor * 100:.0f}%"}
    return {"value": text, "floor": money(floor, currency)}
