"""`valuesync rollback RUN_ID`: write back the values a run replaced.

A field that someone edited in the CRM since that run is left alone and listed.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mappings.errors import ConfigError, ConfigProblem
from sync.cli.options import (
    DEFAULT_PROJECT,
    JsonOpt,
    ProjectOpt,
    emit_json,
    examples,
    load,
    open_state,
)

EPILOG = examples("valuesync rollback 12", "valuesync rollback 12 --yes --json")

RunIdArg = Annotated[int, typer.Argument(help="The run to undo (see `valuesync runs list`).")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def rollback(
    run_id: RunIdArg,
    project: ProjectOpt = DEFAULT_PROJECT,
    yes: YesOpt = False,
    json_output: JsonOpt = False,
) -> int:
    """Restore the CRM values a run replaced (values edited since are skipped and listed)."""
    from sync.cli.render import RichProgress, out, rollback_tables
    from sync.pipeline import runner as pipeline
    from sync.pipeline.results import NoProgress

    loaded = load(project)
    state = open_state(loaded)
    try:
        run = state.run(run_id)
        changes = state.changes(run_id)
    finally:
        state.close()
    written = changes.loc[changes["status"] == "written"] if len(changes) else changes
    if not len(written):
        raise ConfigError(
            [
                ConfigProblem(
                    "command line",
                    "RUN_ID",
                    f"run {run_id} ({run['status']}) has no written changes to roll back; "
                    "`valuesync runs list` shows the runs that wrote something",
                )
            ]
        )
    connection = run["connection"]
    if not (yes or json_output):
        records = written["record_id"].nunique()
        typer.confirm(
            f"Restore {len(written):,} field values on {records:,} records of '{connection}' "
            f"to what they were before run {run_id}?",
            abort=True,
        )
    if json_output:
        report = pipeline.rollback(loaded, run_id, connection=connection, progress=NoProgress())
        emit_json(report.to_json())
    else:
        with RichProgress() as progress:
            report = pipeline.rollback(loaded, run_id, connection=connection, progress=progress)
        for table in rollback_tables(report):
            out.print(table)
        skipped = 0 if report.skipped is None else len(report.skipped)
        out.print(
            f"[bold green]restored {report.restored:,}[/] records of run {run_id}"
            + (f"; {skipped:,} skipped (edited in the CRM since)" if skipped else "")
            + (f" (rollback run {report.rollback_run_id})" if report.rollback_run_id else ""),
            highlight=False,
        )
    rejected = 0 if report.rejected is None else len(report.rejected)
    return 1 if rejected else 0
