"""`valuesync check`: every config file, the secrets, and a live describe of the CRM.

Prints every problem with its file, line and key path; exit 1 when there is any.
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
    "valuesync check",
    "valuesync check --offline --project acme/valuesync.yaml",
    "valuesync check --connection acme-sf --json",
    "valuesync check --as-of 2026-07-01   # the finance export as `run --as-of` reads it",
)

OfflineOpt = Annotated[
    bool, typer.Option("--offline", help="Skip the live CRM describe (files and secrets only).")
]


def check(
    project: ProjectOpt = DEFAULT_PROJECT,
    connection: ConnectionOpt = None,
    offline: OfflineOpt = False,
    as_of: AsOfOpt = None,
    json_output: JsonOpt = False,
) -> int:
    """Check the project, mappings, finance and value model files, the secrets and the CRM.

    The finance export is checked as `run --as-of` the same date would read it."""
    from rich.text import Text

    from sync.cli.render import out, problems_table

    loaded, when = load(project), parse_date(as_of)
    from sync.pipeline import runner as pipeline

    problems = pipeline.check(loaded, connection, live=not offline, as_of=when)
    if json_output:
        emit_json(
            {
                "ok": not problems,
                "live": not offline,
                "problems": [
                    {"file": p.file, "line": p.line, "key_path": p.key_path, "message": p.message}
                    for p in problems
                ],
            }
        )
    elif problems:
        out.print(problems_table(problems))
        out.print(f"[bold red]{len(problems)} problem(s)[/]: fix them and check again.")
    else:
        what = "files and secrets" if offline else "files, secrets and the live CRM describe"
        out.print(
            Text.assemble(("all good", "bold green"), f": {what} checked for {loaded.path}."),
            highlight=False,
        )
    return 1 if problems else 0
