"""Who may use the console: loopback only unless an access token is set; CSRF on writes.

- `check_bind(host, token_env, env)`: a non-loopback address is refused unless `--token-env`
  names a variable that holds a token; returns the token (None on loopback without one).
- With a token, every request but `/login` and `/static` needs the login cookie: an HMAC of
  the token, so the token itself never travels after the login form and is never shown.
- Every state-changing request carries the CSRF token (header `X-CSRF-Token`, sent by htmx
  from the page body, or a form field `csrf_token`) equal to the `vs_csrf` cookie, which is
  SameSite=Strict: another site can neither read it nor make the browser send it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mappings.errors import ConfigError, ConfigProblem

AUTH_COOKIE = "vs_auth"
CSRF_COOKIE = "vs_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
OPEN_PATHS = ("/login", "/static/")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and 'localhost' are loopback; anything else is reachable by others."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token_env: str | None, env: Mapping[str, str]) -> str | None:
    """The access token for a bind address; a ConfigError when one is needed and missing."""
    token = env.get(token_env, "") if token_env else ""
    if token_env and not token:
        raise ConfigError(
            [
                ConfigProblem(
                    "command line",
                    "--token-env",
                    f"the environment variable {token_env} is not set or empty; "
                    "export it with the access token first",
                )
            ]
        )
    if not is_loopback(host) and not token:
        raise ConfigError(
            [
                ConfigProblem(
                    "command line",
                    "--host",
                    f"{host} is reachable from other machines; the console binds there "
                    "only with an access token: --token-env NAME (an environment "
                    "variable holding it), or use --host 127.0.0.1",
                )
            ]
        )
    return token or None


def login_cookie(token: str) -> str:
    """What the auth cookie holds: an HMAC of the token (never the token itself)."""
    return hmac.new(token.encode(), b"valuesync-console", hashlib.sha256).hexdigest()


def token_matches(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode(), token.encode())


class AuthMiddleware:
    """Sends a request without a valid login cookie to /login (when a token is set)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.expected = login_cookie(token) if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.expected is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = request.url.path
        given = request.cookies.get(AUTH_COOKIE, "")
        if path.startswith(OPEN_PATHS) or hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        response: Response
        if request.method == "GET":
            response = RedirectResponse("/login", status_code=303)
        else:
            response = PlainTextResponse("log in first", status_code=401)
        await response(scope, receive, send)


def csrf_token(request: Request) -> str:
    """The request's CSRF token (the cookie's, or a new one that the response must set)."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def set_csrf_cookie(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict")


async def csrf_ok(request: Request) -> bool:
    """Whether a state-changing request carries the CSRF token of its cookie."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    given = request.headers.get(CSRF_HEADER, "")
    if not given:
        form = await request.form()
        given = str(form.get(CSRF_FIELD, ""))
    return bool(expected) and hmac.compare_digest(given, expected)


Endpoint = Callable[[Request], Awaitable[Response]]


def state_changing(endpoint: Endpoint) -> Endpoint:
    """Wrap a POST endpoint: refused with 403 unless the CSRF token matches."""

    async def guarded(request: Request) -> Response:
        if not await csrf_ok(request):
            return PlainTextResponse(
                "refused: this form is stale or came from another site (CSRF token missing or "
                "wrong); reload the page and try again",
                status_code=403,
            )
        return await endpoint(request)

    guarded.__name__ = endpoint.__name__
    guarded.__doc__ = endpoint.__doc__
    return guarded
