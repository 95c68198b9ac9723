"""The value matrix report, embedded: the page `valuesync report` writes for the latest
finished run, built once per run in the background and then served from a cache file.

The report is one self-contained HTML file (plotly inside, a few MB), so the console page
frames it; while it is being built the frame says so and reloads itself.
"""

from __future__ import annotations

import html
import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from mappings.errors import ValuesyncError
from sync.cli.report import _state_input
from sync.report.build import write_report
from sync.ui.templating import render

log = logging.getLogger(__name__)
_building: dict[Path, str | None] = {}
"""Report file -> None while it is built, or the message of the error that stopped it."""
_lock = threading.Lock()
WAIT_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="refresh" content="2"></head><body style="font-family: sans-serif">
<p id="report-building">{text}</p></body></html>"""


def report_file(console: Any, name: str, run_id: int) -> Path:
    state = console.state()
    base = state.cache_dir if getattr(state, "cache_dir", None) else Path(tempfile.gettempdir())
    folder = Path(base) / "console-report" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"run-{run_id}.html"


def _build(console: Any, name: str, out: Path) -> None:
    try:
        inp = _state_input(console.project_path, name, None, None, None)
        tmp = out.with_suffix(".building.html")
        write_report(inp, tmp)
        tmp.replace(out)
        with _lock:
            _building.pop(out, None)
    except ValuesyncError as exc:
        with _lock:
            _building[out] = str(exc)
    except Exception as exc:  # the frame shows a message; the log has the traceback
        log.exception("console: building the report of %s failed", name)
        with _lock:
            _building[out] = f"{type(exc).__name__}: the report could not be built (see the log)"


def _latest(console: Any, name: str) -> int | None:
    found = console.state().latest_run(name, status=["succeeded", "succeeded_with_rejections"])
    return None if found is None else int(found)


async def report(request: Request) -> Response:
    """GET /report/{name}: the report of the latest finished run, framed."""
    console = request.app.state.console
    name = console.known(request.path_params["name"])
    return render(request, "report.html", name=name, run_id=_latest(console, name))


async def report_frame(request: Request) -> Response:
    """GET /report/{name}/page: the report file, or a page that waits for it."""
    console = request.app.state.console
    name = console.known(request.path_params["name"])
    run_id = _latest(console, name)
    if run_id is None:
        return HTMLResponse(WAIT_PAGE.format(text="No finished run yet: run the connection."))
    out = report_file(console, name, run_id)
    if out.is_file():
        return FileResponse(out, media_type="text/html")
    with _lock:
        if out not in _building:
            _building[out] = None
            threading.Thread(target=_build, args=(console, name, out), daemon=True).start()
        error = _building[out]
    if error is not None:
        return HTMLResponse(f"<p class='error'>{html.escape(error)}</p>", status_code=500)
    return HTMLResponse(WAIT_PAGE.format(text=f"Building the report of run {run_id}…"))


def routes() -> list[Route]:
    return [Route("/report/{name}", report), Route("/report/{name}/page", report_frame)]
