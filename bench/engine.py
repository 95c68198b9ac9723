"""Benchmark: the value engine on 1M accounts, 3M opportunities, 3M tickets, 12M invoices.

Generates the canonical frames in memory (seeded; ids are strings as a CRM or a CSV would
give them, low-cardinality text such as currency, status or industry is categorical, as a
memory-aware loader gives it), runs `value_engine.compute` once, and measures in the same
process one `groupby(account_id).sum()` over the invoice rows (string ids) as a yardstick
for this machine. Prints the figures and ends with one JSON line:
{"engine_s", "groupby_s", "ratio" (engine_s / groupby_s), "peak_rss_mb", "inputs_mb",
 "generate_peak_mb", "engine_extra_mb", "result_mb", "measured"}

Memory (Linux): peak_rss_mb is the process's peak resident set over the whole run
(generation, engine, yardstick): the acceptance figure. inputs_mb is the size of the input
frames (pandas memory_usage, deep); generate_peak_mb the peak while generating them;
engine_extra_mb the peak during `compute` minus the resident set just before it (the
engine's own working memory, its result included); result_mb the size of the result frames.

Usage: python bench/engine.py [--accounts N] [--scale F] [--profile]
Targets on a 2-core machine: peak <= 2.5 GB, ratio <= 5.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import time
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from value_engine import ValueModel, compute

AS_OF = date(2025, 7, 1)
INDUSTRIES = ("Machinery", "Manufacturing", "Electronics", "Retail", "Shipping", "Consulting",
              "Technology", "Chemicals", "Healthcare", "Energy", "Apparel")  # fmt: skip
REGIONS = ("Germany", "Austria", "Switzerland", "United Kingdom", "France", "Netherlands", "Italy")


def _ids(prefix: str, n: int) -> pd.Series:
    """n distinct string ids like A0000042, built by Arrow (fast, no Python loop)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(n)), pa.string()), width=9, padding="0")
    return pd.Series(pd.array(pc.binary_join_element_wise(prefix, digits, ""), dtype="str"))


def _pick(rng: np.random.Generator, choices: tuple[str, ...], n: int) -> pd.Categorical:
    """Low-cardinality text as a categorical (1 byte a row), as a loader should give it."""
    return _labels(choices, rng.integers(0, len(choices), n))


def _labels(choices: tuple[str, ...], codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int8), categories=list(choices))


def _constant(text: str, n: int) -> pd.Categorical:
    return _labels((text,), np.zeros(n, dtype=np.int8))


def _dates(rng: np.random.Generator, start: str, days: int, n: int) -> np.ndarray:
    return np.datetime64(start, "s") + rng.integers(0, days * 86400, n).astype("timedelta64[s]")


def generate(n_acc: int, scale: float, seed: int = 1) -> dict[str, pd.DataFrame]:
    """Canonical frames: accounts, opportunities, tickets, invoices and finance months."""
    rng = np.random.default_rng(seed)
    ids = _ids("A", n_acc)
    n_opp, n_tix, n_inv, n_fin = (int(x * scale) for x in (3e6, 3e6, 12e6, 12e6))
    accounts = pd.DataFrame({
        "account_id": ids, "name": ids, "industry": _pick(rng, INDUSTRIES, n_acc),
        "employees": np.round(np.exp(rng.normal(5.3, 1.2, n_acc))),
        "region": _pick(rng, REGIONS, n_acc), "created_at": _dates(rng, "2015-01-01", 3650, n_acc),
    })  # fmt: skip
    return {
        "accounts": accounts,
        "opportunities": _opportunities(rng, ids, n_opp),
        "tickets": _tickets(rng, ids, n_tix),
        "invoices": _invoices(rng, ids, n_inv),
        "finance": _finance(rng, ids, n_fin),
    }


def _account_ids(rng: np.random.Generator, ids: pd.Series, n: int, share: float = 1.0) -> pd.Series:
    codes = rng.integers(0, int(len(ids) * share), n)
    return pd.Series(ids.array.take(codes))


def _opportunities(rng: np.random.Generator, ids: pd.Series, n: int) -> pd.DataFrame:
    closed = rng.random(n) < 0.7
    return pd.DataFrame({
        "opportunity_id": _ids("O", n), "account_id": _account_ids(rng, ids, n),
        "amount": np.round(np.exp(rng.normal(10, 1, n)), -2), "currency": _constant("EUR", n),
        "stage": _labels(("Proposal", "Closed"), closed), "is_closed": closed,
        "is_won": closed & (rng.random(n) < 0.6), "close_date": _dates(rng, "2023-01-01", 1000, n),
        "type": _pick(rng, ("new", "renewal", "expansion"), n),
    })  # fmt: skip


def _tickets(rng: np.random.Generator, ids: pd.Series, n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "ticket_id": _ids("T", n), "account_id": _account_ids(rng, ids, n),
        "created_at": _dates(rng, "2023-07-01", 730, n),
        "priority": _pick(rng, ("low", "medium", "high", "urgent"), n),
        "is_escalation": rng.random(n) < 0.08,
        "category": _pick(rng, ("problem", "question", "special_request"), n),
        "effort_hours": np.round(rng.exponential(2.0, n), 1),
    })  # fmt: skip


def _invoices(rng: np.random.Generator, ids: pd.Series, n: int) -> pd.DataFrame:
    issue = _dates(rng, "2023-07-01", 730, n).astype("datetime64[D]")
    due = issue + np.timedelta64(30, "D")
    paid = due + rng.normal(3, 10, n).round().astype("timedelta64[D]")
    paid[rng.random(n) < 0.1] = np.datetime64("NaT")
    return pd.DataFrame({
        "invoice_id": _ids("I", n), "account_id": _account_ids(rng, ids, n),
        "issue_date": issue.astype("datetime64[s]"), "due_date": due.astype("datetime64[s]"),
        "paid_date": paid.astype("datetime64[s]"), "amount": np.round(rng.lognormal(8, 1, n), 2),
        "currency": _constant("EUR", n), "status": _labels(("paid", "open"), np.isnat(paid)),
    })  # fmt: skip


def _finance(rng: np.random.Generator, ids: pd.Series, n: int) -> pd.DataFrame:
    months = np.datetime64("2023-07", "M") + rng.integers(0, 24, n).astype("timedelta64[M]")
    revenue = np.round(rng.lognormal(8.5, 1, n), 2)
    return pd.DataFrame({
        "account_id": _account_ids(rng, ids, n, share=0.9),
        "period": months.astype("datetime64[s]"), "revenue": revenue,
        "cost_of_delivery": np.round(revenue * rng.uniform(0.55, 0.9, n), 2),
        "currency": _constant("EUR", n),
    })  # fmt: skip


def frames_mb(frames: dict[str, pd.DataFrame]) -> float:
    """Size of the frames in MB (deep: string buffers counted)."""
    return sum(float(f.memory_usage(deep=True).sum()) for f in frames.values()) / 2**20


def peak_mb() -> float:
    """The process's peak resident set so far, in MB (since the last reset_peak)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def resident_mb() -> float:
    """The process's resident set now, in MB (Linux; else the peak so far)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_mb()


def reset_peak() -> bool:
    """Start the peak resident set afresh (Linux clear_refs); False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--scale", type=float, default=1.0, help="row-count factor (1.0 = full)")
    parser.add_argument("--profile", action="store_true", help="print the 25 slowest functions")
    args = parser.parse_args()
    t = time.perf_counter()
    frames = generate(int(args.accounts * args.scale), args.scale)
    rows = {k: len(v) for k, v in frames.items()}
    generate_peak, inputs = peak_mb(), frames_mb(frames)
    print(f"generated {rows} in {time.perf_counter() - t:.1f} s: {inputs:,.0f} MB of frames")
    model = ValueModel()
    profiler = cProfile.Profile() if args.profile else None
    before, separate = resident_mb(), reset_peak()
    t = time.perf_counter()
    if profiler:
        profiler.enable()
    result = compute(frames, model, as_of=AS_OF)
    if profiler:
        profiler.disable()
    engine_s = time.perf_counter() - t
    engine_extra = peak_mb() - before if separate else float("nan")
    outputs = frames_mb({"a": result.accounts, "o": result.opportunities, "f": result.features})
    t = time.perf_counter()
    frames["invoices"].groupby("account_id")["amount"].sum()
    groupby_s = time.perf_counter() - t
    peak = max(generate_peak, peak_mb())
    print(result.distribution().to_string(index=False))
    print(f"engine: {engine_s:.1f} s for {len(result.accounts):,} accounts and "
          f"{len(result.opportunities):,} opportunities")  # fmt: skip
    print(f"groupby(account_id).sum() over {rows['invoices']:,} invoices: {groupby_s:.2f} s")
    print(f"ratio engine / groupby: {engine_s / groupby_s:.1f}; peak RSS {peak:,.0f} MB "
          f"(inputs {inputs:,.0f} MB, generation peak {generate_peak:,.0f} MB, engine extra "
          f"{engine_extra:,.0f} MB of which result {outputs:,.0f} MB)")  # fmt: skip
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    figures = {
        "engine_s": round(engine_s, 2), "groupby_s": round(groupby_s, 2),
        "ratio": round(engine_s / groupby_s, 2), "peak_rss_mb": round(peak),
        "inputs_mb": round(inputs), "generate_peak_mb": round(generate_peak),
        "engine_extra_mb": None if not separate else round(engine_extra),
        "result_mb": round(outputs),
        "measured": "peak_rss_mb: process peak resident set (generation, engine, yardstick); "
        "engine_extra_mb: peak during compute minus resident set before it",
    }  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
