"""The `valuesync` command (Typer + Rich).

The only module that reads argv and configures logging. A user mistake (ValuesyncError)
prints one clear paragraph and exits non-zero, without a traceback.

Exit codes: 0 success; 1 a run finished with rejected records or a failed check;
2 usage or configuration error (ConfigError, DataError); 3 a CRM or network error
(ConnectorError); 4 the state database is locked or unusable (StateError).
"""

from __future__ import annotations

import logging
import os
import sys

import typer
from rich.console import Console

from mappings.errors import ConfigError, ConnectorError, DataError, StateError, ValuesyncError

app = typer.Typer(
    name="valuesync",
    help="Compute what each CRM customer is worth and how well it fits; write it back to the CRM.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(help="The local sandbox CRM (Salesforce + HubSpot wire protocols).")
app.add_typer(sandbox_app, name="sandbox")

err_console = Console(stderr=True)

EXIT_CODES: dict[type[ValuesyncError], int] = {
    ConfigError: 2,
    DataError: 2,
    ConnectorError: 3,
    StateError: 4,
}


def _register() -> None:
    from sync.commands import demo, sandbox

    sandbox_app.command("serve")(sandbox.serve)
    app.command("demo")(demo.demo)
    try:
        from sync.commands import score
    except ImportError:  # the engine's command lands with the value engine
        return
    app.command("score")(score.score)


def exit_code_for(exc: ValuesyncError) -> int:
    for cls, code in EXIT_CODES.items():
        if isinstance(exc, cls):
            return code
    return 1


def main() -> None:
    """Entry point of the `valuesync` console script."""
    logging.basicConfig(
        level=os.environ.get("VALUESYNC_LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    _register()
    try:
        app(standalone_mode=False)
    except ValuesyncError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exit_code_for(exc))
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
