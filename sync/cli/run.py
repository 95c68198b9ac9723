"""`valuesync run`: one sync of a connection: pull, join finance, score, diff, push.

Progress bars go to stderr; a summary follows, with the finance join's counts and the
quarantined finance rows. Exit 1 when the CRM rejected records or finance rows were
quarantined (they are listed; the others were written), 4 when another run holds the
connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from sync.cli.options import (
    DEFAULT_PROJECT,
    AsOfOpt,
    ConnectionOpt,
    JsonOpt,
    ProjectOpt,
    emit_json,
    examples,
    load,
    parse_date,
)

if TYPE_CHECKING:
    from sync.pipeline.results import RunReport


EPILOG = examples(
    "valuesync run",
    "valuesync run --connection acme-sf --as-of 2026-07-01",
    "valuesync run --full --json > run.json",
)

FullOpt = Annotated[
    bool, typer.Option("--full", help="Pull everything again, ignoring the stored cursors.")
]


def run(
    project: ProjectOpt = DEFAULT_PROJECT,
    connection: ConnectionOpt = None,
    as_of: AsOfOpt = None,
    full: FullOpt = False,
    json_output: JsonOpt = False,
) -> int:
    """Sync a connection now and write the changed values back to the CRM."""
    from sync.cli.render import RichProgress, print_run
    from sync.pipeline import runner as pipeline
    from sync.pipeline.results import NoProgress

    loaded, when = load(project), parse_date(as_of)
    if json_output:
        report = pipeline.run(loaded, connection, as_of=when, full=full, progress=NoProgress())
        emit_json(report.to_json())
    else:
        with RichProgress() as progress:
            report = pipeline.run(loaded, connection, as_of=when, full=full, progress=progress)
        print_run(report)
    return exit_code(report)


def exit_code(report: RunReport) -> int:
    """1 when records were rejected or set aside, finance rows quarantined or the run failed,
    else 0."""
    rejected = sum(c.rejected + c.quarantined for c in report.objects.values())
    quarantined = int(report.finance.get("quarantined_rows") or 0)
    return 1 if rejected or quarantined or report.status not in ("succeeded", "planned") else 0
