"""`valuesync alerts test` and `valuesync alerts digest`: check the channels, send a digest."""

from __future__ import annotations

from typing import Annotated

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

app = typer.Typer(
    help="Alerts: test the channels, send the value review digest.", no_args_is_help=True
)
TEST_EPILOG = examples("valuesync alerts test", "valuesync alerts test --json")
DIGEST_EPILOG = examples(
    "valuesync alerts digest", "valuesync alerts digest --since 12 --until 20 --json"
)
RunOpt = Annotated[int | None, typer.Option(help="Run id.", metavar="RUN")]


@app.command("test", epilog=TEST_EPILOG)
def test(project: ProjectOpt = DEFAULT_PROJECT, json_output: JsonOpt = False) -> int:
    """Send a test message on every configured channel; exit 1 if one failed."""
    from sync.alerts.probe import SKIPPED, send_test
    from sync.cli.render import out

    outcome = send_test(load(project))
    failed = [n for n, err in outcome.items() if err is not None and err != SKIPPED]
    if json_output:
        emit_json({"channels": {n: {"ok": e is None, "error": e} for n, e in outcome.items()}})
    else:
        for name, err in outcome.items():
            text = (
                "[green]sent[/]"
                if err is None
                else (err if err == SKIPPED else f"[red]failed[/]: {err}")
            )
            out.print(f"{name}: {text}", highlight=False)
    return 1 if failed else 0


@app.command("digest", epilog=DIGEST_EPILOG)
def digest(
    project: ProjectOpt = DEFAULT_PROJECT,
    connection: ConnectionOpt = None,
    since: RunOpt = None,
    until: RunOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Send the value review digest now (the schedule calls the same)."""
    from sync.alerts.digest import send_digest
    from sync.cli.render import out

    result = send_digest(load(project), connection, since=since, until=until)
    doc = {
        "connection": result.connection,
        "since_run": result.since_run,
        "until_run": result.until_run,
        "movers": len(result.movers),
        "sent": result.event_id is not None,
        "tasks_created": result.tasks_created,
    }
    if json_output:
        emit_json(doc)
        return
    if result.event_id is None:
        out.print(
            f"{result.connection}: nothing new to digest (runs {result.since_run} -> "
            f"{result.until_run})",
            highlight=False,
        )
        return
    out.print(
        f"{result.connection}: digest of runs {result.since_run} -> {result.until_run}: "
        f"{len(result.movers)} account(s) moved, {result.tasks_created} CRM task(s)",
        highlight=False,
    )


SCHEDULE_EPILOG = examples("valuesync alerts schedule --connection acme-sf")


@app.command("schedule", epilog=SCHEDULE_EPILOG)
def schedule(
    project: ProjectOpt = DEFAULT_PROJECT,
    connection: ConnectionOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Store the digest job (alerts.digest.schedule) for `valuesync scheduler start`."""
    from sync import scheduler
    from sync.alerts.schedule import schedule_digest
    from sync.cli.render import out

    loaded = load(project)
    with scheduler.Schedules(scheduler.state_url(loaded)) as store:
        job = schedule_digest(store, loaded, connection)
    if json_output:
        emit_json(job.to_json())
        return
    out.print(
        f"[green]scheduled[/] {job.id}: digest of {job.connection} {job.trigger}, "
        f"next {job.next_run}",
        highlight=False,
    )
