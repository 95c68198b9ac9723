"""`valuesync plan`: a dry run. Pulls, computes and diffs like `run`, writes nothing.

Shows the changes per object, the quadrant moves versus what the CRM holds now, a sample
of changed records and the API calls a real run would need.
"""

from __future__ import annotations

from typing import Annotated

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

EPILOG = examples(
    "valuesync plan",
    "valuesync plan --as-of 2026-07-01 --sample 20",
    "valuesync plan --connection acme-hs --json > plan.json",
)

SampleOpt = Annotated[
    int, typer.Option("--sample", min=0, help="How many changed records to show.", metavar="N")
]


def plan(
    project: ProjectOpt = DEFAULT_PROJECT,
    connection: ConnectionOpt = None,
    as_of: AsOfOpt = None,
    sample: SampleOpt = 10,
    json_output: JsonOpt = False,
) -> None:
    """Dry run: what a run would change in the CRM, and nothing written."""
    from sync.cli.render import RichProgress, print_run
    from sync.pipeline import runner as pipeline
    from sync.pipeline.results import NoProgress

    loaded, when = load(project), parse_date(as_of)
    if json_output:
        report = pipeline.plan(loaded, connection, as_of=when, sample=sample, progress=NoProgress())
        emit_json(report.to_json())
        return
    with RichProgress() as progress:
        report = pipeline.plan(loaded, connection, as_of=when, sample=sample, progress=progress)
    print_run(report, sample=True)
