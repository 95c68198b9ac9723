"""Benchmark of `valuesync report` at scale: 100,000 scored accounts -> HTML page + PNG.

Generates scored accounts in memory (scores, quadrants, revenue, margin, lifetime value
and reasons shaped like the engine's output, plus an earlier run for the movement
section and run rows for the health section), then times `write_report` (figures, HTML
with plotly.js inline, matplotlib PNG). Targets: render < 10 s, HTML < 15 MB.
Ends with one JSON line.

Run: .venv/bin/python bench/report.py [--accounts N] [--max-points N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

# bench/sync.py would shadow the `sync` package: drop this script's folder from the path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

from sync.report.build import write_report  # noqa: E402
from sync.report.data import DEFAULT_MAX_POINTS, ReportInput, Scores  # noqa: E402

LABELS = ("Core", "Fix or Reprice", "Develop", "Deprioritize")
PHRASES = np.array(
    [
        "Lifetime value €{k}k (top {p}%)",
        "{p}% margin",
        "high service effort ({p}% of revenue)",
        "pays on time only {p}%",
        "Machinery is an ICP industry",
        "predictable revenue",
        "low lifetime value -€{k}k",
        "no data: growth",
    ]
)


def scored(n: int, seed: int) -> pd.DataFrame:
    """`n` accounts with engine-shaped score columns."""
    rng = np.random.default_rng(seed)
    value, fit = rng.uniform(0, 100, n).round(1), rng.uniform(0, 100, n).round(1)
    code = (value < 50).astype(int) * 2 + (fit < 50).astype(int)
    revenue = rng.lognormal(10.5, 1.0, n).round(2)
    margin = (revenue * rng.uniform(-0.05, 0.45, n)).round(2)
    picks = rng.integers(0, len(PHRASES), (n, 3))
    k, p = rng.integers(1, 900, n), rng.integers(1, 99, n)
    reason = ["; ".join(PHRASES[j].format(k=k[i], p=p[i]) for j in picks[i]) for i in range(n)]
    return pd.DataFrame(
        {
            "account_id": [f"A{i:07d}" for i in range(n)],
            "name": [f"Company {i:07d} GmbH" for i in range(n)],
            "value_score": value,
            "fit_score": fit,
            "quadrant": np.array(LABELS)[code],
            "revenue_12m": revenue,
            "margin_12m": margin,
            "clv": (margin * 2.4).round(2),
            "predicted": False,
            "is_customer": True,
            "reason": reason,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--max-points", type=int, default=DEFAULT_MAX_POINTS)
    args = parser.parse_args()
    now = datetime.now(UTC)
    current = scored(args.accounts, 1)
    previous = current.copy()
    moved = np.random.default_rng(2).choice(len(previous), len(previous) // 20, replace=False)
    previous.loc[moved, "quadrant"] = "Deprioritize"
    previous.loc[moved, "value_score"] = 20.0
    runs = [
        {
            "id": 30 - i,
            "connection": "bench",
            "kind": "sync",
            "status": "succeeded",
            "started_at": now - timedelta(hours=6 * i),
            "finished_at": now - timedelta(hours=6 * i) + timedelta(seconds=300),
            "counts": {"objects": {"Account": {"written": 900, "rejected": 3}}},
            "api_calls": {"rest": 40, "bulk": 12},
        }
        for i in range(10)
    ]
    inp = ReportInput(
        current=Scores(current, pd.DataFrame(), LABELS, (50.0, 50.0), "EUR", "bench", "2026-07-01"),
        previous=Scores(previous, pd.DataFrame(), LABELS, (50.0, 50.0), "EUR", "bench"),
        runs=runs,
        daily_limit=100_000,
    )
    with tempfile.TemporaryDirectory() as tmp:
        files = write_report(inp, Path(tmp) / "report.html", max_points=args.max_points)
        html_mb, png_kb = files.html_mb, files.png.stat().st_size / 1e3
    print(f"accounts: {args.accounts:,} (matrix draws {len(files.data.points):,})")
    print(f"render: {files.seconds:.2f} s (target < 10 s)")
    print(f"html: {html_mb:.2f} MB (target < 15 MB); png: {png_kb:.0f} kB")
    print(
        json.dumps(
            {
                "accounts": args.accounts,
                "render_s": round(files.seconds, 2),
                "html_mb": round(html_mb, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
