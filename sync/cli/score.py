"""`valuesync score DIR`: score canonical tables from files, write the scores, show the matrix.

DIR holds the canonical tables as `accounts.csv` / `accounts.parquet`, and optionally
`opportunities`, `tickets`, `invoices`, `finance` and `rates` (columns currency, rate: units
of the model currency per unit). Column names are those of mappings/canonical.py. Every
table is checked (required columns, types, picklist values, currencies) before anything
is computed; a problem is a DataError naming the file, the column and the first bad rows.
Advocacy signals on accounts (reference_customer, referrals, case_study, product_feedback)
are yes/no in any case (true/yes/y/1, false/no/n/0) or counts; anything else is such an
error. `--what-if` adds the quadrant changes under other horizons and costs, with the
revenue and lifetime value that move (sync/cli/score_whatif.py).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from value_engine import EngineResult
    from value_engine.model import ValueModel

import typer

from mappings.errors import ConfigError, DataError

FORMATS = ("csv", "parquet")
OUTPUTS = {
    "accounts": "account_scores",
    "opportunities": "opportunity_scores",
    "segments": "segment_scores",
}
"""EngineResult attribute -> the file it is written to (segment_scores feed the report)."""


DirectoryArg = Annotated[
    Path,
    typer.Argument(
        help="Folder with accounts.csv|parquet and optionally opportunities, tickets, invoices, "
        "finance, rates. Example: valuesync score ./export --as-of 2025-07-01",
        show_default=False,
        metavar="DIR",
    ),
]
ModelOpt = Annotated[
    Path | None,
    typer.Option("--model", help="Value model YAML (default: the shipped value_model.yaml)."),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Score as of this date, YYYY-MM-DD, exclusive (default: the first day of the "
        "current UTC month, so only complete months count).",
    ),
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out", help="Folder for account_scores / opportunity_scores (default: DIR/scores)."
    ),
]
FormatOpt = Annotated[str, typer.Option("--format", help="Output format: csv or parquet.")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the quadrant distribution as JSON, not a table.")
]
WhatIfOpt = Annotated[
    bool,
    typer.Option(
        "--what-if", help="Also show quadrant changes for 12/36/60 months and ±10 % cost."
    ),
]


def score(
    directory: DirectoryArg,
    model: ModelOpt = None,
    as_of: AsOfOpt = None,
    out: OutOpt = None,
    fmt: FormatOpt = "csv",
    json_output: JsonOpt = False,
    whatif: WhatIfOpt = False,
) -> int:
    """Score every account and opportunity in DIR; write the scores; print the value matrix."""
    from rich.console import Console

    from sync.pipeline.model_file import load_value_model
    from value_engine import compute

    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not known; allowed: {', '.join(FORMATS)}")
    value_model = load_value_model(model)
    day = _parse_date(as_of)
    frames = read_tables(Path(directory), value_model)
    result = compute(frames, value_model, as_of=day)
    target = Path(out) if out is not None else Path(directory) / "scores"
    written = write_scores(result, target, fmt)
    console = Console()
    if json_output:
        console.print_json(json.dumps(_distribution_json(result, day)))
    else:
        _print_distribution(console, result, value_model, day, written)
    if whatif:
        from sync.cli.score_whatif import print_what_if

        print_what_if(console, result, value_model)
    return 0


def _parse_date(text: str | None) -> date:
    if text is None:
        from sync.pipeline.session import default_as_of

        return default_as_of()  # as every other command: only complete months count
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--as-of {text!r} is not a date; write it as YYYY-MM-DD") from None


def read_tables(directory: Path, model: ValueModel) -> dict[str, pd.DataFrame]:
    """Every canonical table found in `directory`, checked, typed and in the model currency."""

    from mappings.canonical import TABLES, coerce_table, convert_currency

    if not directory.is_dir():
        raise ConfigError(f"{directory}: not a folder; give the folder holding accounts.csv")
    rates = dict(model.rates)
    rates_file = _find(directory, "rates")
    if rates_file is not None:
        rates.update(_read_rates(rates_file))
    frames: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        path = _find(directory, name)
        if path is None:
            if name == "accounts":
                raise DataError(f"{directory}: accounts.csv or accounts.parquet is missing")
            continue
        frame = coerce_table(name, _read(path), str(path))
        if name == "accounts":
            check_signals(frame, str(path))
        frames[name] = convert_currency(name, frame, model.currency, rates, str(path))
    return frames


SIGNAL_TEXT = "yes or no (true, yes, y, 1 / false, no, n, 0) or a count of 0 or more"


def check_signals(accounts: pd.DataFrame, source: str) -> None:
    """The advocacy signal columns (reference_customer, referrals, case_study,
    product_feedback) hold yes/no or counts: anything else is a DataError naming the file,
    the column and the first bad rows (counted from 1 after the header), never the value."""
    import numpy as np
    import pandas as pd

    from value_engine.catalog import ADVOCACY_SIGNALS
    from value_engine.frames import truth_values

    problems = []
    for name in ADVOCACY_SIGNALS:
        if name not in accounts.columns:
            continue
        column = accounts[name]
        given = column.notna().to_numpy()
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
            blank = column.astype("string").str.strip() == ""
            given = given & ~blank.fillna(True).to_numpy(dtype=bool)
        values = truth_values(accounts, name)
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero(given & ~(np.isfinite(values) & (values >= 0)))
        if len(bad):
            rows = ", ".join(str(r + 1) for r in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            plural = "s" if len(bad) > 1 else ""
            problems.append(f"column {name}: expected {SIGNAL_TEXT} in row{plural} {rows}{more}")
    if problems:
        fix = "; fix the values or leave them empty"
        raise DataError(f"{source}: " + "; ".join(problems) + fix)


def _find(directory: Path, name: str) -> Path | None:
    found = [
        directory / f"{name}.{ext}" for ext in FORMATS if (directory / f"{name}.{ext}").is_file()
    ]
    if len(found) > 1:
        raise DataError(f"{directory}: both {name}.csv and {name}.parquet exist; keep one")
    return found[0] if found else None


def _read(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read ({type(exc).__name__}); check the file") from None


def _read_rates(path: Path) -> dict[str, float]:
    import pandas as pd

    frame = _read(path)
    missing = [c for c in ("currency", "rate") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: column {', '.join(missing)} is missing; columns: currency, rate")
    rate = pd.to_numeric(frame["rate"], errors="coerce")
    bad = (rate.isna() | (rate <= 0)).to_numpy().nonzero()[0]
    if len(bad):
        raise DataError(f"{path}: column rate: expected a positive number in row {bad[0] + 1}")
    return dict(zip(frame["currency"].astype(str).str.upper(), rate.astype(float), strict=True))


def write_scores(result: EngineResult, target: Path, fmt: str) -> list[Path]:
    """account_scores, opportunity_scores and segment_scores .<fmt> in `target` (created if
    needed)."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for attr, stem in OUTPUTS.items():
        frame: pd.DataFrame = getattr(result, attr)
        path = target / f"{stem}.{fmt}"
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        written.append(path)
    return written


def _distribution_json(result: EngineResult, day: date) -> dict[str, object]:
    dist = result.distribution()
    return {
        "as_of": day.isoformat(),
        "accounts": len(result.accounts),
        "opportunities": len(result.opportunities),
        "thresholds": {"value": result.cuts.value, "fit": result.cuts.fit},
        "quadrants": [
            {"quadrant": str(r.quadrant), "accounts": int(r.accounts),
             "revenue_12m": float(r.revenue_12m), "margin_12m": float(r.margin_12m)}
            for r in dist.itertuples(index=False)
        ],
    }  # fmt: skip


def _print_distribution(
    console: Console, result: EngineResult, model: ValueModel, day: date, written: list[Path]
) -> None:
    from rich.table import Table

    from value_engine.explain import money

    dist = result.distribution()
    total = max(int(dist["accounts"].sum()), 1)
    table = Table(title=f"Value quadrants as of {day.isoformat()}")
    for header in ("Quadrant", "Accounts", "Share", "Revenue 12m", "Margin 12m", "Margin %"):
        table.add_column(header, justify="left" if header == "Quadrant" else "right")
    for r in dist.itertuples(index=False):
        pct = f"{r.margin_12m / r.revenue_12m:.0%}" if r.revenue_12m else "–"
        table.add_row(
            str(r.quadrant), f"{int(r.accounts):,}", f"{r.accounts / total:.0%}",
            money(float(r.revenue_12m), model.currency), money(float(r.margin_12m), model.currency),
            pct,
        )  # fmt: skip
    console.print(table)
    predicted = int(result.accounts["predicted"].sum())
    console.print(
        f"thresholds: value {result.cuts.value:.1f}, fit {result.cuts.fit:.1f}; "
        f"{predicted:,} new-logo account(s) predicted from look-alikes; "
        f"{len(result.opportunities):,} opportunities scored"
    )
    for path in written:
        console.print(f"wrote {path}")
