"""The console's Starlette application: routes, middleware, static files, error pages.

`build_app(console, token)` is what `valuesync ui` serves with uvicorn and what the tests
drive with Starlette's TestClient. A user mistake (a ValuesyncError) is a page with the
message, never a traceback.
"""

from __future__ import annotations

import hmac
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mappings.errors import ConfigError, ValuesyncError
from sync.ui import connections, explain, mapping_page, model_page, report_page, runs_page
from sync.ui.context import Console
from sync.ui.security import AUTH_COOKIE, AuthMiddleware, login_cookie
from sync.ui.templating import HERE, render

log = logging.getLogger(__name__)


async def home(request: Request) -> Response:
    return RedirectResponse("/connections", status_code=303)


async def login(request: Request) -> Response:
    """GET: the login form; POST: the token, checked, then the auth cookie."""
    token = request.app.state.token
    if request.method == "GET" or token is None:
        return render(request, "login.html", error=None)
    form = await request.form()
    given = str(form.get("token", ""))
    if not hmac.compare_digest(given.encode(), token.encode()):
        return render(request, "login.html", status=401, error="wrong access token")
    response = RedirectResponse("/connections", status_code=303)
    response.set_cookie(AUTH_COOKIE, login_cookie(token), httponly=True, samesite="strict")
    return response


async def user_error(request: Request, exc: Exception) -> Response:
    """A ValuesyncError (a bad file, a missing secret, an unknown name) as a readable page."""
    problems = getattr(exc, "problems", ())
    status = 404 if isinstance(exc, ConfigError) and "no connection" in str(exc) else 400
    return render(request, "error.html", status=status, message=str(exc), problems=problems)


def routes() -> list[Route | Mount]:
    return [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/connections", connections.connections),
        Route("/connections/{name}", connections.connection),
        Route("/connections/{name}/{action}", connections.start, methods=["POST"]),
        Route("/jobs/{job_id}", connections.job),
        Route("/explain/{name}", explain.search),
        Route("/explain/{name}/{account_id}", explain.account),
        *mapping_page.routes(),
        *model_page.routes(),
        *runs_page.routes(),
        *report_page.routes(),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]


def build_app(console: Console, token: str | None = None) -> Starlette:
    """The console application over a project (token: require a login first)."""
    app = Starlette(routes=routes(), exception_handlers={ValuesyncError: user_error})
    app.state.console = console
    app.state.token = token
    try:
        app.state.nav = console.names()
    except ValuesyncError:
        app.state.nav = []
    app.add_middleware(AuthMiddleware, token=token)
    return app
