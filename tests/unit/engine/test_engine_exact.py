"""Issue 18: the engine's memory-lean paths give the same outputs, bit for bit.

Each optimised path is checked against a straightforward reference: the Arrow lookup of
account ids against a dict, the monthly sums against a pandas groupby, and the whole
engine on Arrow string ids (the hashed lookup) against the same population with Python
object ids (the factorised lookup) and with categorical text columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engine_population import AS_OF, make_population

from value_engine import EngineResult, compute, parse_value_model
from value_engine.explain import MAX_REASON, Part, join
from value_engine.features import _monthly
from value_engine.frames import _lookup, hundredths

IDS = ("account_id", "opportunity_id", "erp_id")
TEXT = {"opportunities": ("currency", "stage", "type"), "invoices": ("currency", "status"),
        "tickets": ("priority", "category"), "finance": ("currency",),
        "accounts": ("industry", "region")}  # fmt: skip
MODELS = {
    "value_matrix": {},
    "value_chain": {"quadrants": {"preset": "value_chain"}},
    "persona_sbg": {"quadrants": {"preset": "persona_value"}, "clv": {"method": "sbg"}},
}


def _reference_lookup(values: list[str | None], keys: list[str | None]) -> list[int]:
    where = {k: i for i, k in enumerate(keys) if k is not None}
    return [where.get(v, -1) if v is not None else -1 for v in values]


@pytest.mark.parametrize(
    ("keys_dtype", "values_dtype"),
    [("str", "str"), ("str", "string"), ("str", object), (object, object), ("str", "category")],
    ids=["arrow", "arrow-na-string", "object-values", "object-both", "categorical-values"],
)
def test_lookup_matches_a_dict(keys_dtype: object, values_dtype: object) -> None:
    rng = np.random.default_rng(3)
    keys: list[str | None] = sorted(f"A{i:04d}" for i in rng.choice(5000, 300, replace=False))
    keys[5] = None  # an ERP id shared by two accounts links none
    pool = [*keys[:250], "", "zz", "Ä-ü", None, "a0001"]
    values = [pool[i] for i in rng.integers(0, len(pool), 4000)]
    got = _lookup(pd.Series(values, dtype=values_dtype), pd.Series(keys, dtype=keys_dtype))
    assert got.dtype == np.int64
    assert got.tolist() == _reference_lookup(values, keys)
    assert (got == -1).sum() > 0 and (got >= 0).sum() > 3000


def test_monthly_sums_match_a_groupby() -> None:
    rng = np.random.default_rng(5)
    n, rows, month = 40, 3000, 660
    codes = rng.integers(-1, n, rows)
    months = rng.integers(month - 30, month + 3, rows)
    values = np.round(rng.lognormal(6, 2, rows), 2) * rng.choice([1, -1], rows)
    got = _monthly(codes, months, values, n, month)
    keep = (codes >= 0) & (months >= month - 24) & (months < month)
    frame = pd.DataFrame({"c": codes[keep], "m": months[keep] - (month - 24),
                          "v": hundredths(values[keep])})  # fmt: skip
    sums = frame.groupby(["c", "m"])["v"].sum() / 100.0
    expected = np.zeros((n, 24))
    expected[sums.index.get_level_values(0), sums.index.get_level_values(1)] = sums.to_numpy()
    assert np.array_equal(got, expected)
    assert got.dtype == np.float64 and np.count_nonzero(got) > 500


def _with_object_ids(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in frames.items():
        frame = frame.copy()
        for col in set(IDS) & set(frame.columns):
            frame[col] = pd.Series(frame[col].to_numpy(dtype=object), dtype=object)
        out[name] = frame
    return out


def _with_categorical_text(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in frames.items():
        frame = frame.copy()
        for col in set(TEXT.get(name, ())) & set(frame.columns):
            frame[col] = frame[col].astype("category")
        out[name] = frame
    return out


def _assert_same(a: EngineResult, b: EngineResult, loose: set[str]) -> None:
    """Every output frame equal bit for bit; `loose` columns only as text (their dtype
    follows the input's)."""
    assert a.cuts == b.cuts and a.axes == b.axes
    for part in ("accounts", "opportunities", "features", "segments"):
        x, y = getattr(a, part), getattr(b, part)
        assert list(x.columns) == list(y.columns), part
        for col in x.columns:
            if col in loose:
                assert x[col].astype(str).tolist() == y[col].astype(str).tolist(), (part, col)
                continue
            pd.testing.assert_series_equal(x[col], y[col], check_exact=True, obj=f"{part}.{col}")
            if x[col].dtype.kind == "f":  # -0.0 and 0.0 differ in bits
                assert np.array_equal(x[col].to_numpy().view(np.int64),
                                      y[col].to_numpy().view(np.int64)), (part, col)  # fmt: skip


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    frames = make_population(n=400, prospects=40, seed=21)
    frames["invoices"]["account_id"] = frames["invoices"]["account_id"].where(
        np.arange(len(frames["invoices"])) % 97 != 0, "unknown account"
    )
    return frames


@pytest.mark.parametrize("model", list(MODELS), ids=list(MODELS))
def test_engine_outputs_do_not_depend_on_the_id_representation(
    frames: dict[str, pd.DataFrame], model: str
) -> None:
    value_model = parse_value_model(MODELS[model], "m")
    arrow = compute(frames, value_model, as_of=AS_OF)
    assert isinstance(frames["accounts"]["account_id"].dtype, pd.StringDtype)
    objects = compute(_with_object_ids(frames), value_model, as_of=AS_OF)
    _assert_same(arrow, objects, set(IDS))
    text = {c for cols in TEXT.values() for c in cols}
    _assert_same(arrow, compute(_with_categorical_text(frames), value_model, as_of=AS_OF), text)
    assert arrow.accounts["is_customer"].sum() == 400


def _reference_cut(texts: pd.Series) -> list[str]:
    """Reasons over 255 characters cut after the last whole '; ' phrase, by Arrow string ops."""
    head = texts.str.slice(0, MAX_REASON + 2)
    cut = head.str.rfind("; ")
    return [
        t if len(t) <= MAX_REASON else (t[:c] if 0 < c <= MAX_REASON else t[:MAX_REASON])
        for t, c in zip(texts, cut, strict=True)
    ]


def test_long_reasons_are_cut_like_the_arrow_reference() -> None:
    phrases = ["€" * 120, "ü" * 130, "x" * 3, "margin 35% (best 5%)", "y" * 260, "z" * 253]
    rng = np.random.default_rng(9)
    codes = [rng.integers(-1, len(phrases), 500) for _ in range(3)]
    parts = [Part(phrases, c.astype(np.int64)) for c in codes]
    got = join(parts, 500)
    whole = ["; ".join(phrases[c] for c in row if c >= 0) for row in zip(*codes, strict=True)]
    whole = [t[:1].upper() + t[1:] for t in whole]
    assert got.tolist() == _reference_cut(pd.Series(whole, dtype=pd.StringDtype("pyarrow")))
    assert (got.str.len() <= MAX_REASON).all() and (got.str.len() == MAX_REASON).any()
    assert (got.str.len().between(200, MAX_REASON - 1)).any()
