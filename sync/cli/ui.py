"""`valuesync ui`: the ops admin console, a local web page over the project and its state.

Binds 127.0.0.1 by default; any other address needs an access token (--token-env NAME:
an environment variable holding it), asked for once at login. Heavy imports happen inside
the command, so `valuesync --help` stays fast.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from sync.cli.options import (
    DEFAULT_PROJECT,
    AsOfOpt,
    ConnectionOpt,
    ProjectOpt,
    examples,
    load,
    parse_date,
)

EPILOG = examples(
    "valuesync ui",
    "valuesync ui --project acme/valuesync.yaml --port 8800",
    "VALUESYNC_UI_TOKEN=... valuesync ui --host 0.0.0.0 --token-env VALUESYNC_UI_TOKEN",
)

PortOpt = Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")]
HostOpt = Annotated[
    str,
    typer.Option("--host", help="Address to bind; anything but loopback needs --token-env."),
]
TokenEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--token-env",
        help="Name of an environment variable holding the access token (asked at login).",
        metavar="NAME",
    ),
]


def ui(
    project: ProjectOpt = DEFAULT_PROJECT,
    connection: ConnectionOpt = None,
    port: PortOpt = 8787,
    host: HostOpt = "127.0.0.1",
    token_env: TokenEnvOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Open the ops admin console: connections, mappings, model, explain, runs, report."""
    from sync.cli.render import out
    from sync.ui.security import check_bind

    token = check_bind(host, token_env, os.environ)
    loaded = load(project)
    if connection:
        loaded.connection(connection)
    import uvicorn

    from sync.ui.app import build_app
    from sync.ui.context import Console

    console = Console(loaded.path, connection, as_of=parse_date(as_of))
    app = build_app(console, token)
    console.warm()
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    out.print(f"valuesync console on http://{shown}:{port}/ (Ctrl+C to stop)", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    console.close()
