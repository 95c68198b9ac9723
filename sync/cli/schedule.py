"""`valuesync schedule add|list|remove` and `valuesync scheduler start`.

Jobs are stored in the state database (APScheduler's SQLAlchemy job store), so every
`scheduler start` process sharing that database sees them; see sync/scheduler.py.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

import typer

from mappings.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from sync.scheduler import ScheduledJob

from sync.cli.options import (
    DEFAULT_PROJECT,
    ConnectionOpt,
    JsonOpt,
    ProjectOpt,
    emit_json,
    examples,
    load,
)

log = logging.getLogger(__name__)

schedule_app = typer.Typer(help="Scheduled runs, kept in the state database.", no_args_is_help=True)
scheduler_app = typer.Typer(help="The process that runs the scheduled jobs.", no_args_is_help=True)

ADD_EPILOG = examples(
    "valuesync schedule add --connection acme-sf --cron '0 2 * * *'",
    "valuesync schedule add --connection acme-hs --cron '30 */4 * * 1-5'",
)
LIST_EPILOG = examples("valuesync schedule list", "valuesync schedule list --json")
REMOVE_EPILOG = examples("valuesync schedule remove acme-sf-1a2b3c4d")
START_EPILOG = examples(
    "valuesync scheduler start",
    "valuesync scheduler start --once-due     # run what is due now, then exit (cron/systemd)",
    "VALUESYNC_LOG_LEVEL=INFO valuesync scheduler start --misfire-grace 600",
)

CronOpt = Annotated[
    str | None,
    typer.Option(
        "--cron",
        help="5-field cron expression in UTC: minute hour day-of-month month day-of-week.",
        metavar="EXPR",
    ),
]
EveryOpt = Annotated[
    float | None,
    typer.Option("--every", help="Instead of --cron: run every N seconds.", metavar="SECONDS"),
]
GraceOpt = Annotated[
    int | None,
    typer.Option(
        "--misfire-grace",
        min=1,
        help="A run missed (scheduler down) by at most this many seconds still starts late "
        "(default 3600).",
        metavar="SECONDS",
    ),
]
JobIdArg = Annotated[str, typer.Argument(help="The job id (see `valuesync schedule list`).")]


@schedule_app.command("add", epilog=ADD_EPILOG)
def add(
    connection: ConnectionOpt = None,
    cron: CronOpt = None,
    every: EveryOpt = None,
    misfire_grace: GraceOpt = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_output: JsonOpt = False,
) -> None:
    """Schedule runs of a connection (the same schedule added twice is stored once)."""
    from sync import scheduler
    from sync.cli.render import out
    from sync.scheduler import Schedules

    if (cron is None) == (every is None):
        raise ConfigError(
            [ConfigProblem("command line", "--cron", "give either --cron EXPR or --every SECONDS")]
        )
    trigger = scheduler.cron_trigger(cron) if cron else scheduler.interval_trigger(every or 0)
    loaded = load(project)
    with Schedules(scheduler.state_url(loaded)) as store:
        grace = {} if misfire_grace is None else {"misfire_grace": misfire_grace}
        job = store.add(loaded, connection, trigger, **grace)
    if json_output:
        emit_json(job.to_json())
        return
    out.print(
        f"[green]scheduled[/] {job.id}: {job.connection} {job.trigger}, next run {_when(job)}.\n"
        "Jobs run while `valuesync scheduler start` is running.",
        highlight=False,
    )


@schedule_app.command("list", epilog=LIST_EPILOG)
def list_jobs(project: ProjectOpt = DEFAULT_PROJECT, json_output: JsonOpt = False) -> None:
    """The scheduled jobs, soonest first."""
    from sync import scheduler
    from sync.cli.render import out
    from sync.scheduler import Schedules

    with Schedules(scheduler.state_url(load(project))) as store:
        jobs = store.list()
    if json_output:
        emit_json([j.to_json() for j in jobs])
        return
    if not jobs:
        out.print("nothing scheduled; add a job with `valuesync schedule add`")
        return
    from rich.table import Table

    table = Table(title="Scheduled jobs", title_justify="left")
    for col in ("id", "connection", "when (UTC)", "next run", "project"):
        table.add_column(col)
    for j in jobs:
        table.add_row(j.id, j.connection, j.trigger, _when(j), j.project)
    out.print(table)


@schedule_app.command("remove", epilog=REMOVE_EPILOG)
def remove(
    job_id: JobIdArg, project: ProjectOpt = DEFAULT_PROJECT, json_output: JsonOpt = False
) -> None:
    """Remove a scheduled job."""
    from sync import scheduler
    from sync.cli.render import out
    from sync.scheduler import Schedules

    with Schedules(scheduler.state_url(load(project))) as store:
        job = store.remove(job_id)
    if json_output:
        emit_json({"removed": job.to_json()})
    else:
        out.print(f"[green]removed[/] {job.id} ({job.connection} {job.trigger})", highlight=False)


OnceOpt = Annotated[
    bool, typer.Option("--once-due", help="Run the jobs that are due now, then exit.")
]
StartGraceOpt = Annotated[
    int | None,
    typer.Option(
        "--misfire-grace",
        min=1,
        help="Set every stored job's misfire grace (seconds) before starting.",
        metavar="SECONDS",
    ),
]


@scheduler_app.command("start", epilog=START_EPILOG)
def start(
    project: ProjectOpt = DEFAULT_PROJECT,
    once_due: OnceOpt = False,
    misfire_grace: StartGraceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Run scheduled jobs until SIGTERM / Ctrl-C (several processes may share the jobs)."""
    from sync import scheduler
    from sync.cli.render import err, out
    from sync.scheduler import Schedules

    url = scheduler.state_url(load(project))
    if misfire_grace is not None:
        scheduler.apply_misfire_grace(url, misfire_grace)
    if once_due:
        results = scheduler.run_due(url)
        if json_output:
            emit_json(results)
        else:
            for r in results:
                out.print(
                    f"{r['connection']}: {r['status']} {r.get('message', '')}", highlight=False
                )
            if not results:
                out.print("no job was due")
        return
    with Schedules(url) as store:
        jobs = store.list()
    err.print(
        f"scheduler started with {len(jobs)} job(s); Ctrl-C or SIGTERM stops it "
        "after running jobs finish",
        highlight=False,
    )
    scheduler.serve(url)


def _when(job: ScheduledJob) -> str:
    return job.next_run.strftime("%Y-%m-%d %H:%M:%S UTC") if job.next_run else "paused"
