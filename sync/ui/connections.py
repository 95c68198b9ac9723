"""The Connections page: status of each connection, and Check / Plan / Run / Provision.

The status is what `valuesync status` shows (the same functions); the buttons start the
same pipeline calls as the CLI commands, as background jobs (sync/ui/jobs.py) whose
progress the page polls.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mappings.errors import ConfigError, StateError
from sync.pipeline import runner as pipeline
from sync.pipeline.status import connection_status, locks, run_totals
from sync.ui.jobs import JobProgress
from sync.ui.security import state_changing
from sync.ui.templating import page_of, render, window

ACTIONS = ("check", "plan", "run", "provision")


def console_of(request: Request) -> Any:
    return request.app.state.console


async def connections(request: Request) -> Response:
    """Every connection: last runs, lock, next scheduled run, API calls, rejections."""
    console = console_of(request)
    state = console.state()
    held = locks(state)
    rows = []
    for name in console.names():
        row = connection_status(state, state.url, name, held.get(name))
        runs = state.runs(connection=name, limit=5)
        for run in runs:
            run["totals"] = run_totals(run.get("counts") or {})
        row["runs"] = runs
        row["job"] = console.jobs.latest(name)
        rows.append(row)
    return render(request, "connections.html", rows=rows)


async def connection(request: Request) -> Response:
    """One connection: its status, the job panel, and the last run's rejected records."""
    console = console_of(request)
    name = console.known(request.path_params["name"])
    state = console.state()
    row = connection_status(state, state.url, name, locks(state).get(name))
    runs = state.runs(connection=name, limit=10)
    for run in runs:
        run["totals"] = run_totals(run.get("counts") or {})
    writing = [r for r in runs if r["kind"] in ("sync", "rollback")]
    rejected, win = None, None
    if writing:
        frame = state.rejected(writing[0]["id"])
        win = window(len(frame), page_of(request))
        rejected = frame.iloc[win["start"] : win["stop"]].to_dict("records")
        win["run_id"] = writing[0]["id"]
    return render(
        request,
        "connection.html",
        name=name,
        row=row,
        runs=runs,
        rejected=rejected,
        win=win,
        job=console.jobs.latest(name),
    )


def _work(console: Any, name: str, action: str, as_of: date | None) -> Any:
    env = console.env

    def work(progress: JobProgress) -> Any:
        project = console.project()
        if action == "check":
            return pipeline.check(project, name, live=True, env=env, as_of=as_of)
        if action == "plan":
            return pipeline.plan(project, name, as_of=as_of, progress=progress, env=env)
        if action == "run":
            return pipeline.run(project, name, as_of=as_of, progress=progress, env=env)
        console.describes.forget(name)
        try:
            return pipeline.provision_fields(project, name, env=env)
        finally:
            console.describes.forget(name)

    return work


@state_changing
async def start(request: Request) -> Response:
    """POST /connections/{name}/{action}: start a job; the job panel comes back."""
    console = console_of(request)
    name = console.known(request.path_params["name"])
    action = request.path_params["action"]
    if action not in ACTIONS:
        return render(
            request,
            "job.html",
            status=404,
            job=None,
            name=name,
            error=f"unknown action '{action}'; one of {', '.join(ACTIONS)}",
        )
    form = await request.form()
    if action == "run" and form.get("confirm") != "yes":
        return render(
            request,
            "job.html",
            status=400,
            job=None,
            name=name,
            error="a run writes to the CRM: confirm it first",
        )
    try:
        job = console.jobs.start(name, action, _work(console, name, action, console.as_of))
    except (StateError, ConfigError) as exc:
        return render(
            request,
            "job.html",
            status=409,
            job=console.jobs.latest(name),
            name=name,
            error=str(exc),
        )
    return render(request, "job.html", job=job, name=name, error=None)


async def job(request: Request) -> Response:
    """GET /jobs/{id}: the job panel (polled while the job runs)."""
    console = console_of(request)
    raw = request.path_params["job_id"]
    found = console.jobs.get(int(raw)) if str(raw).isdigit() else None
    if found is None:
        return render(
            request,
            "job.html",
            status=404,
            job=None,
            name="",
            error="no such job (the console was restarted?)",
        )
    return render(request, "job.html", job=found, name=found.connection, error=None)
