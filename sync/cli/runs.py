"""`valuesync runs list` and `valuesync runs show ID`: the run history in the state DB."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

if TYPE_CHECKING:
    import pandas as pd

import typer

from sync.cli.options import (
    DEFAULT_PROJECT,
    ConnectionOpt,
    JsonOpt,
    ProjectOpt,
    emit_json,
    examples,
    load,
    open_state,
)

app = typer.Typer(help="The history of runs in the state database.", no_args_is_help=True)
LIST_EPILOG = examples("valuesync runs list", "valuesync runs list --limit 5 --json")
SHOW_EPILOG = examples("valuesync runs show 12", "valuesync runs show 12 --json")

LimitOpt = Annotated[int, typer.Option("--limit", min=1, help="How many runs.", metavar="N")]
RunIdArg = Annotated[int, typer.Argument(help="The run id (see `valuesync runs list`).")]


@app.command("list", epilog=LIST_EPILOG)
def list_runs(
    project: ProjectOpt = DEFAULT_PROJECT,
    connection: ConnectionOpt = None,
    limit: LimitOpt = 20,
    json_output: JsonOpt = False,
) -> None:
    """The latest runs, newest first."""
    from sync.cli.render import out, runs_table

    loaded = load(project)
    name = loaded.connection(connection)[0] if connection else None
    state = open_state(loaded)
    try:
        runs = state.runs(connection=name, limit=limit)
    finally:
        state.close()
    if json_output:
        emit_json([_run_json(r) for r in runs])
    elif runs:
        out.print(runs_table(runs))
    else:
        out.print("no runs yet; start one with `valuesync run`")


@app.command("show", epilog=SHOW_EPILOG)
def show(
    run_id: RunIdArg,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_output: JsonOpt = False,
) -> None:
    """One run: counts, API calls, rejected records with the CRM's errors, quarantined rows,
    and the run's log file."""
    from rich.text import Text

    from sync.cli.render import out
    from sync.pipeline.results import _records
    from sync.pipeline.runlog import run_log_path

    loaded = load(project)
    state = open_state(loaded)
    try:
        run = state.run(run_id)
        results = state.write_results(run_id)
        left_out = state.rejected(run_id)
        quarantined = len(state.quarantine(run_id))
        changes = state.changes(run_id)
    finally:
        state.close()
    log_path = run_log_path(loaded.root.resolve(), run["connection"], run_id)
    log_file = log_path if log_path.is_file() else None
    crm_rejected = results.loc[~results["ok"].astype(bool)] if len(results) else results
    crm_rejected = crm_rejected.reindex(columns=["object", "record_id", "field", "code", "message"])
    changes_by_status = (
        changes.groupby("status").size().astype(int).to_dict() if len(changes) else {}
    )
    if json_output:
        emit_json(
            {
                **_run_json(run),
                "changes_by_status": changes_by_status,
                "rejected_by_crm": _records(crm_rejected),
                "left_out": _records(left_out.drop(columns=["id", "run_id"], errors="ignore")),
                "quarantined_finance_rows": quarantined,
                "log_file": str(log_file) if log_file else None,
            }
        )
        return
    _print_run(run, changes_by_status, crm_rejected, left_out, quarantined)
    out.print(Text(f"log file: {log_file or '(none: the run wrote no log)'}"), highlight=False)


def _run_json(run: dict[str, Any]) -> dict[str, Any]:
    from sync.pipeline.status import iso as _iso

    return {
        **run,
        "started_at": _iso(run["started_at"]),
        "finished_at": _iso(run["finished_at"]),
    }


def _print_run(
    run: dict[str, Any],
    changes: dict[str, int],
    crm_rejected: pd.DataFrame,
    left_out: pd.DataFrame,
    quarantined: int,
) -> None:
    from rich.text import Text

    from sync.cli.render import frame_table, mapping_table, out, status_text
    from sync.pipeline.status import iso as _iso
    from sync.pipeline.status import run_totals

    out.print(
        f"[bold]run {run['id']}[/] ({run['kind']}) of {run['connection']}: "
        f"{status_text(run['status'])}, started {_iso(run['started_at'])}, "
        f"finished {_iso(run['finished_at']) or '-'}",
        highlight=False,
    )
    if run.get("message"):
        out.print(Text(f"message: {run['message']}"), highlight=False)
    counts = run_totals(run["counts"])
    for title, values, key, value in (
        ("Counts", counts, "what", "count"),
        ("API calls", run["api_calls"], "kind", "calls"),
        ("Changes by status", changes, "status", "fields"),
    ):
        if values:
            out.print(mapping_table(title, values, key, value))
    for table in (
        frame_table("Rejected by the CRM", crm_rejected, 50),
        frame_table("Left out (mapping or data checks)", left_out.drop(
            columns=["id", "run_id"], errors="ignore"), 50),
    ):  # fmt: skip
        if table is not None:
            out.print(table)
    out.print(f"quarantined finance rows: {quarantined:,}")
