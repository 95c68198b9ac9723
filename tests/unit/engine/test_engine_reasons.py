"""Issue 15, item 5: every statement in a reason is true to the numbers behind it."""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd
import pytest
from engine_population import AS_OF, make_population
from engine_shapes import SHAPES, frames, shape

from value_engine import EngineResult, ValueModel, compute, parse_value_model
from value_engine.explain import money

PRESETS = ("value_matrix", "persona_value", "value_chain")


@cache
def _result(source: str, preset: str) -> EngineResult:
    model = parse_value_model({"quadrants": {"preset": preset}}, "m")
    data = make_population(n=250) if source == "sample" else frames(shape(source, 1))
    return compute(data, model, as_of=AS_OF)


def _rows(source: str, preset: str) -> pd.DataFrame:
    result = _result(source, preset)
    feats = result.features.drop(columns=[c for c in result.accounts.columns if c != "account_id"],
                                 errors="ignore")  # fmt: skip
    return result.accounts.merge(feats, on="account_id")


def _pct(x: float) -> int:
    return int(np.rint(x * 100))


# (pattern, feature, how the captured text must match the feature's value)
CLAIMS = [
    (r"only (\d+)% of invoices paid on time|(\d+)% of invoices paid on time", "on_time_share",
     lambda v: str(_pct(v))),
    (r"margin (-?\d+)%(?! of)|(-?\d+)% margin", "margin_pct", lambda v: str(_pct(v))),
    (r"paid (\d+) days? late on average", "avg_days_late", lambda v: str(int(np.rint(v)))),
    (r"revenue in (?:only )?(\d+)% of the last 24 months", "recurrence", lambda v: str(_pct(v))),
    (r"(\d+) months without purchase", "months_since_active", lambda v: str(int(v))),
    (r"lifetime value (-?[€$£¥][\d.]+[kM]?)", "clv", lambda v: money(v, "EUR")),
    (r"service effort,? (\d+)% of revenue", "service_cost_pct", lambda v: str(_pct(v))),
    (r"(\d+) renewals won", "renewals_won_24m", lambda v: str(int(v))),
]  # fmt: skip


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("source", ["sample", *SHAPES])
def test_every_reason_is_true_to_the_numbers(source: str, preset: str) -> None:
    rows = _rows(source, preset)
    checked = 0
    for row in rows.itertuples(index=False):
        reason: str = row.reason
        assert 0 < len(reason) <= 255
        assert "pays on time" not in reason
        for pattern, feature, expected in CLAIMS:
            for match in re.finditer(pattern, reason, flags=re.IGNORECASE):
                said = next(g for g in match.groups() if g is not None)
                assert said == expected(getattr(row, feature)), (reason, feature)
                checked += 1
        phrases = [p.strip() for p in reason.split(";")]
        assert len(phrases) == len(set(phrases)), reason
        assert reason.lower().count("fix:") <= 1, reason
        assert reason.startswith("Loss-making") == bool(row.loss_making), reason
        for rank in re.findall(r"\((best|worst) (\d+)%\)", reason):
            assert 1 <= int(rank[1]) <= 50
    assert checked > 0 or source != "sample"


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("source", ["sample", *SHAPES])
def test_every_non_core_customer_is_told_what_to_fix(source: str, preset: str) -> None:
    rows = _rows(source, preset)
    top = ValueModel().quadrants.label_tuple()[0] if preset == "value_matrix" else None
    labels = parse_value_model({"quadrants": {"preset": preset}}, "m").quadrants.label_tuple()
    top = labels[0]
    customers = rows[rows["is_customer"] & (rows["quadrant"].astype(str) != top)]
    told = customers["reason"].str.contains("fix:|no data:", case=False)
    assert told.all(), customers.loc[~told, "reason"].tolist()[:3]
    prospects = rows[~rows["is_customer"]]
    assert prospects["reason"].str.startswith("New logo").all()


def test_drivers_are_measured_against_the_threshold() -> None:
    """A Core account's strengths pull it above the cuts; a fix pulls below them."""
    result = _result("sample", "value_matrix")
    acc = result.accounts
    core = acc[acc["quadrant"] == "Core"]
    assert not core["reason"].str.contains("fix:", case=False).any()
    develop = acc[(acc["quadrant"] == "Develop") & ~acc["loss_making"]]
    # Low value: what to fix is a value criterion (margin, lifetime value, revenue, ...).
    value_words = "margin|lifetime value|revenue|invoices|renewals|advocacy"
    fixes = develop["reason"].str.extract(r"[Ff]ix: ([^;,]+)")[0]
    assert fixes.str.contains(value_words).all(), fixes.tolist()[:5]
