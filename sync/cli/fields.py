"""`valuesync fields provision`: create the output fields valuesync writes in the CRM.

Picklists (Salesforce) and enumerations (HubSpot) get every label the value model can
produce; existing fields gain missing options. Safe to run again.
"""

from __future__ import annotations

import typer

from sync.cli.options import (
    DEFAULT_PROJECT,
    ConnectionOpt,
    JsonOpt,
    ProjectOpt,
    emit_json,
    examples,
    load,
)

app = typer.Typer(help="The CRM fields valuesync writes.", no_args_is_help=True)
EPILOG = examples(
    "valuesync fields provision",
    "valuesync fields provision --connection acme-sf --json",
)


@app.command("provision", epilog=EPILOG)
def provision(
    project: ProjectOpt = DEFAULT_PROJECT,
    connection: ConnectionOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Create or update the output fields (quadrant, scores, rules) in the CRM."""
    from sync.cli.render import out, provision_table
    from sync.pipeline import runner as pipeline

    results = pipeline.provision_fields(load(project), connection)
    if json_output:
        emit_json(
            {
                obj: {"created": r.created, "updated": r.updated, "unchanged": r.unchanged}
                for obj, r in results.items()
            }
        )
        return
    out.print(provision_table(results))
    n = {k: sum(len(getattr(r, k)) for r in results.values()) for k in ("created", "updated")}
    out.print(
        f"[bold green]done[/]: {n['created']} created, {n['updated']} updated, the rest unchanged."
    )
