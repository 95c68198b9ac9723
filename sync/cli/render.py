"""Rich rendering of what the pipeline reports: run and plan summaries, the quadrant and
transition matrices, rollback outcomes, config problems; and Rich progress bars.

Tables go to stdout, progress bars to stderr (so `--json` stdout stays one document).
Functions here only format; they never read state or call a CRM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichBars
from rich.table import Table
from rich.text import Text

from mappings.errors import ConfigProblem
from sync.pipeline.results import RollbackReport, RunReport
from sync.pipeline.status import run_totals

out = Console()
err = Console(stderr=True)


class RichProgress:
    """`sync.pipeline.results.Progress` drawn as Rich bars on stderr; use as a context manager."""

    def __init__(self, console: Console | None = None) -> None:
        self.bars = RichBars(
            SpinnerColumn(),
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console or err,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.bars.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.bars.stop()

    def start(self, task: str, total: int | None = None) -> None:
        if task in self.tasks:
            self.bars.reset(self.tasks[task], total=total)
        else:
            self.tasks[task] = self.bars.add_task(task, total=total)

    def advance(self, task: str, n: int = 1) -> None:
        if task not in self.tasks:
            self.start(task)
        self.bars.advance(self.tasks[task], n)

    def finish(self, task: str) -> None:
        if task not in self.tasks:
            return
        tid = self.tasks[task]
        done = self.bars.tasks[self.bars.task_ids.index(tid)].completed
        self.bars.update(tid, total=done, completed=done)


ID_COLUMNS = frozenset({"id", "record_id", "record id", "account_id", "opportunity_id", "run_id"})
"""Columns people copy: never wrapped or cut, whatever the terminal width (18: a Salesforce id)."""


def _table(title: str, columns: Sequence[str], right: Iterable[str] = ()) -> Table:
    table = Table(title=title, title_justify="left")
    right = set(right)
    for c in columns:
        if c in ID_COLUMNS:
            table.add_column(c, justify="right" if c in right else "left", no_wrap=True,
                             overflow="fold", min_width=18 if c != "id" else None)  # fmt: skip
        else:
            table.add_column(c, justify="right" if c in right else "left")
    return table


def _cell(v: Any) -> str | Text:
    """A value as a cell; text from data or messages is never read as Rich markup."""
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}"
    return Text(str(v))


def frame_table(title: str, frame: pd.DataFrame | None, limit: int = 20) -> Table | None:
    """Any small frame as a table (numbers right-aligned); None when empty."""
    if frame is None or frame.empty:
        return None
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    table = _table(title, [str(c) for c in frame.columns], [str(c) for c in numeric])
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    if len(frame) > limit:
        table.caption = f"{len(frame) - limit:,} more not shown (see --json)"
    return table


OBJECT_COLUMNS = (
    "pulled", "deleted", "records_changed", "fields_changed", "written", "rejected", "quarantined",
)  # fmt: skip


def objects_table(report: RunReport) -> Table:
    """Per CRM object: pulled, deleted, changed, written, rejected, write calls."""
    cols = [c.replace("_", " ") for c in (*OBJECT_COLUMNS, "write_calls")]
    table = _table("Per object", ["object", *cols], cols)
    totals = dict.fromkeys((*OBJECT_COLUMNS, "write_calls"), 0)
    for name, counts in report.objects.items():
        values = [getattr(counts, c) for c in totals]
        for c, v in zip(totals, values, strict=True):
            totals[c] += v
        rejected = values[OBJECT_COLUMNS.index("rejected")]
        cells = [_cell(v) for v in values]
        if rejected:
            cells[OBJECT_COLUMNS.index("rejected")] = f"[red]{rejected:,}[/]"
        table.add_row(name, *cells)
    if len(report.objects) > 1:
        table.add_row("[bold]total[/]", *(f"[bold]{v:,}[/]" for v in totals.values()))
    return table


def mapping_table(title: str, values: Mapping[str, Any], key: str, value: str) -> Table:
    table = _table(title, [key, value], [value])
    for k, v in values.items():
        table.add_row(str(k), _cell(v))
    return table


def transitions_table(frame: pd.DataFrame | None) -> Table | None:
    """Quadrant now in the CRM (rows) x quadrant computed (columns); moves highlighted."""
    if frame is None or frame.empty:
        return None
    first = frame.columns[0]
    if not pd.api.types.is_numeric_dtype(frame[first]):  # the CRM-side labels as a column
        frame = frame.set_index(first)
    cols = [str(c) for c in frame.columns]
    table = _table("Quadrant moves: in the CRM now (rows) -> computed (columns)", ["", *cols], cols)
    for label, row in frame.iterrows():
        cells = []
        for col, v in zip(frame.columns, row, strict=True):
            n = int(v) if pd.notna(v) else 0
            if not n:
                cells.append("[dim]·[/]")
            elif str(col) == str(label):
                cells.append(f"[green]{n:,}[/]")
            else:
                cells.append(f"[bold yellow]{n:,}[/]")
        table.add_row(str(label) if str(label) else "(empty)", *cells)
    return table


def run_tables(report: RunReport, *, sample: bool = False) -> list[Table]:
    """Everything worth showing after a run or a plan, in reading order."""
    tables: list[Table | None] = [objects_table(report)]
    if report.api_calls:
        tables.append(mapping_table("API calls", report.api_calls, "kind", "calls"))
    if report.phase_seconds:
        secs = {k: f"{v:,.1f}" for k, v in report.phase_seconds.items()}
        tables.append(mapping_table("Seconds per phase", secs, "phase", "seconds"))
    tables.append(frame_table("Changes per field", report.field_changes, limit=50))
    tables.append(frame_table("Quadrant distribution", report.distribution))
    tables.append(transitions_table(report.transitions))
    if sample:
        tables.append(frame_table("Sample of changes", report.sample))
        tables.append(frame_table("As a sales rep sees it", report.examples))
    tables.append(frame_table("Rejected records", report.rejected))
    tables.append(frame_table("Set aside (values that cannot be read or written)",
                              report.quarantined, limit=50))  # fmt: skip
    tables += finance_tables(report.finance)
    return [t for t in tables if t is not None]


FINANCE_FIGURES = {
    "rows": "finance rows (customer-months)",
    "unmatched_customers": "ERP customers matching no account",
    "accounts_without_finance": "accounts without finance data",
    "quarantined_rows": "quarantined rows (left out)",
}


def finance_tables(finance: Mapping[str, Any]) -> list[Table | None]:
    """The finance join's counts, and the quarantined rows (file, line, column, reason)."""
    if not finance:
        return []
    figures = {label: finance.get(key, 0) for key, label in FINANCE_FIGURES.items()}
    for method, n in (finance.get("matched_by") or {}).items():
        figures[f"matched by {method}"] = n
    tables: list[Table | None] = [mapping_table("Finance join", figures, "what", "count")]
    rows = finance.get("quarantined") or []
    if rows:
        table = frame_table("Quarantined finance rows", pd.DataFrame(rows), limit=len(rows))
        if table is not None and finance.get("quarantined_rows", 0) > len(rows):
            more = finance["quarantined_rows"] - len(rows)
            table.caption = f"{more:,} more: `valuesync runs show RUN_ID --json`"
        tables.append(table)
    return tables


def print_run(report: RunReport, *, sample: bool = False, console: Console = out) -> None:
    """Render a RunReport: tables, then a one-line verdict."""
    for table in run_tables(report, sample=sample):
        console.print(table)
    for message in report.messages:
        console.print(Text.assemble(("note:", "yellow"), " ", str(message)), highlight=False)
    console.print(verdict(report), highlight=False)


def verdict(report: RunReport) -> str:
    if report.dry_run or report.status == "planned":
        changed = sum(c.records_changed for c in report.objects.values())
        calls = sum(c.write_calls for c in report.objects.values())
        return (
            f"[bold]plan[/] for {report.connection} as of {report.as_of}: {changed:,} records "
            f"would change in about {calls:,} write calls; nothing was written."
        )
    rejected = sum(c.rejected for c in report.objects.values())
    aside = sum(c.quarantined for c in report.objects.values())
    quarantined = int(report.finance.get("quarantined_rows") or 0)
    color = "green" if report.status == "succeeded" and not (quarantined or aside) else "yellow"
    color = "red" if rejected else color
    finance = (
        f" {quarantined:,} finance row(s) were quarantined and left out (listed above); "
        "fix them in the export."
        if quarantined
        else ""
    )
    return (
        f"[bold {color}]run {report.run_id} {report.status}[/]: {report.written:,} records "
        f"written, {rejected:,} rejected, {aside:,} set aside ({report.connection}, "
        f"as of {report.as_of}).{finance}"
    )


def problems_table(problems: Sequence[ConfigProblem]) -> Table:
    table = _table(f"{len(problems)} problem(s)", ["file", "line", "key", "problem"], ["line"])
    for p in problems:
        table.add_row(Text(p.file), str(p.line or ""), Text(p.key_path), Text(p.message))
    return table


def provision_table(results: Mapping[str, Any]) -> Table:
    """One row per object and field: created / updated / unchanged."""
    table = _table("Output fields in the CRM", ["object", "field", "result"])
    styles = {"created": "green", "updated": "yellow", "unchanged": "dim"}
    for obj, result in results.items():
        for what, style in styles.items():
            for name in getattr(result, what):
                table.add_row(Text(obj), Text(name), f"[{style}]{what}[/]")
    return table


def rollback_tables(report: RollbackReport) -> list[Table]:
    tables = [frame_table("Skipped: edited in the CRM since that run", report.skipped, 50)]
    tables.append(frame_table("Rejected by the CRM", report.rejected, 50))
    return [t for t in tables if t is not None]


def runs_table(runs: Sequence[Mapping[str, Any]]) -> Table:
    cols = ["id", "connection", "kind", "status", "started (UTC)", "seconds", "written", "rej."]
    table = _table("Runs", cols, ["id", "seconds", "written", "rej."])
    for r in runs:
        totals = run_totals(r.get("counts") or {})
        table.add_row(
            str(r["id"]),
            Text(r["connection"]),
            r["kind"],
            status_text(r["status"]),
            f"{r['started_at']:%Y-%m-%d %H:%M:%S}",
            _seconds(r),
            _cell(totals.get("written", "")),
            _cell(totals.get("rejected", "")),
        )
    return table


def status_text(status: str) -> str:
    color = {"succeeded": "green", "failed": "red", "running": "cyan"}.get(status, "yellow")
    return f"[{color}]{status}[/]"


def _seconds(r: Mapping[str, Any]) -> str:
    if not r.get("finished_at"):
        return ""
    return f"{(r['finished_at'] - r['started_at']).total_seconds():,.1f}"
