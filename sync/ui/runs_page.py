"""Plan and runs: run history, one run's field changes and rejected records (paginated in
the database), a dry run with its quadrant transition matrix, and rollback with confirmation.

Plan and rollback start the same pipeline calls as `valuesync plan` / `valuesync rollback`,
as background jobs; the plan's field diffs and transition matrix show in its job panel.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mappings.errors import ConfigError, StateError
from sync.pipeline import runner as pipeline
from sync.pipeline.status import run_totals
from sync.state.log import T_CHANGES, T_REJECTED
from sync.ui.jobs import JobProgress
from sync.ui.security import state_changing
from sync.ui.templating import page_of, render, window

HISTORY = 200


async def runs(request: Request) -> Response:
    """GET /runs/{name}: the run history (newest first), Plan button, last job."""
    console = request.app.state.console
    name = console.known(request.path_params["name"])
    history = console.state().runs(connection=name, limit=HISTORY)
    win = window(len(history), page_of(request))
    shown = history[win["start"] : win["stop"]]
    for run in shown:
        run["totals"] = run_totals(run.get("counts") or {})
    return render(
        request,
        "runs.html",
        name=name,
        runs=shown,
        win=win,
        job=console.jobs.latest(name),
        row={"connection": name},
    )


async def run_detail(request: Request) -> Response:
    """GET /runs/{name}/{run_id}: counts, field changes and rejected records of one run."""
    console = request.app.state.console
    name = console.known(request.path_params["name"])
    run_id = _run_id(request)
    state = console.state()
    run = state.run(run_id)
    if run["connection"] != name:
        raise StateError(f"run {run_id} belongs to connection '{run['connection']}', not {name}")
    run["totals"] = run_totals(run.get("counts") or {})
    changes, cwin = _page(
        state,
        T_CHANGES,
        run_id,
        page_of(request),
        ["object", "record_id", "field", "previous", "new", "status"],
    )
    rejected, rwin = _page(
        state, T_REJECTED, run_id, 1, ["object", "record_id", "field", "code", "message"], size=200
    )
    return render(
        request,
        "run_detail.html",
        name=name,
        run=run,
        changes=changes,
        win=cwin,
        rejected=rejected,
        rwin=rwin,
        job=console.jobs.latest(name),
        can_roll_back=run["kind"] == "sync" and run["totals"].get("written", 0) > 0,
    )


def _run_id(request: Request) -> int:
    raw = str(request.path_params["run_id"])
    if not raw.isdigit():
        raise StateError(f"'{raw}' is not a run id; the run history lists them")
    return int(raw)


def _page(
    state: Any, table: sa.Table, run_id: int, page: int, columns: list[str], size: int = 50
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One page of a per-run table, sliced by the database. Not counted: a run's change set
    can hold a million rows, and counting them costs more than the page; one row more than
    the page tells whether there is a next one."""
    where = table.c.run_id == run_id
    start = (page - 1) * size
    query = (
        sa.select(*[table.c[c] for c in columns])
        .where(where)
        .order_by(table.c.id)
        .offset(start)
        .limit(size + 1)
    )
    with state.reading() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    more = len(rows) > size
    win = {"page": page, "pages": page + 1 if more else page, "start": start, "total": None}
    return rows[:size], win


@state_changing
async def rollback(request: Request) -> Response:
    """POST /runs/{name}/{run_id}/rollback (confirm=yes): the previous values written back."""
    console = request.app.state.console
    name = console.known(request.path_params["name"])
    run_id = _run_id(request)
    form = await request.form()
    if form.get("confirm") != "yes":
        return render(
            request,
            "job.html",
            status=400,
            job=None,
            name=name,
            error="a rollback writes to the CRM: confirm it first",
        )

    def work(progress: JobProgress) -> Any:
        return pipeline.rollback(
            console.project(), run_id, connection=name, progress=progress, env=console.env
        )

    try:
        job = console.jobs.start(name, "rollback", work)
    except (StateError, ConfigError) as exc:
        return render(request, "job.html", status=409, job=None, name=name, error=str(exc))
    return render(request, "job.html", job=job, name=name, error=None)


def routes() -> list[Route]:
    return [
        Route("/runs/{name}", runs),
        Route("/runs/{name}/{run_id}", run_detail),
        Route("/runs/{name}/{run_id}/rollback", rollback, methods=["POST"]),
    ]
