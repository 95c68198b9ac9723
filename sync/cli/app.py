"""The `valuesync` command (Typer + Rich).

The only module that reads argv and configures logging. A user mistake (ValuesyncError)
prints one clear paragraph and exits non-zero, without a traceback.

Exit codes: 0 success; 1 a run finished with rejected records or quarantined finance rows,
or a failed check;
2 usage or configuration error (ConfigError, DataError); 3 a CRM or network error
(ConnectorError); 4 the state database is locked or unusable (StateError).
"""

from __future__ import annotations

import logging
import os
import sys

import typer
from rich.console import Console
from rich.text import Text

from mappings.errors import ConfigError, ConnectorError, DataError, StateError, ValuesyncError

EPILOG = """\
Examples:

  $ valuesync init acme --crm salesforce && cd acme

  $ valuesync check && valuesync fields provision && valuesync plan

  $ valuesync run --json > run.json

Exit codes: 0 ok; 1 a run finished with rejected records or quarantined finance rows, or
check found problems; 2 configuration or data error (the message names file, line and
key); 3 CRM or network error; 4 the state database is locked by another run, or unusable.

Every command reads ./valuesync.yaml unless --project PATH is given; --json prints one
JSON document to stdout (progress and logs go to stderr). Logs: VALUESYNC_LOG_LEVEL=INFO.
"""

app = typer.Typer(
    name="valuesync",
    help="Compute what each CRM customer is worth and how well it fits; write it back to the CRM.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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
    from sync.cli import (
        check,
        demo,
        fields,
        init,
        plan,
        report,
        rollback,
        run,
        runs,
        sandbox,
        schedule,
        score,
        status,
    )

    sandbox_app.command("serve")(sandbox.serve)
    app.command("demo")(demo.demo)
    app.command("init", epilog=init.EPILOG)(init.init)
    app.command("check", epilog=check.EPILOG)(check.check)
    app.add_typer(fields.app, name="fields")
    app.command("plan", epilog=plan.EPILOG)(plan.plan)
    app.command("run", epilog=run.EPILOG)(run.run)
    app.command("status", epilog=status.EPILOG)(status.status)
    app.add_typer(runs.app, name="runs")
    app.command("rollback", epilog=rollback.EPILOG)(rollback.rollback)
    app.add_typer(schedule.schedule_app, name="schedule")
    app.add_typer(schedule.scheduler_app, name="scheduler")
    app.command("score")(score.score)
    app.command("report", epilog=getattr(report, "EPILOG", None))(report.report)


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
    if "VALUESYNC_LOG_LEVEL" not in os.environ:
        # Scheduled runs and refusals are what a scheduler process is for: show them.
        logging.getLogger("sync.scheduler").setLevel(logging.INFO)
    _register()
    try:
        rv = app(standalone_mode=False)
    except ValuesyncError as exc:
        code = exit_code_for(exc)
        # The message is plain text: a "[/bold]" in a file name or value prints as written.
        err_console.print(Text.assemble(("error:", "bold red"), " ", str(exc)), highlight=False)
        if "--json" in sys.argv[1:]:
            _json_error(exc, code)
        sys.exit(code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        if _is_click_exception(exc):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        sys.exit(_internal_error(exc))
    # Non-standalone click returns a command's return value (an exit code) or typer.Exit's.
    sys.exit(rv if isinstance(rv, int) else 0)


def _internal_error(exc: Exception) -> int:
    """A bug, not a user mistake: one paragraph on stderr, the traceback in a file; exit 1."""
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(exc))
    with tempfile.NamedTemporaryFile(
        "w", prefix="valuesync-crash-", suffix=".log", delete=False, encoding="utf-8"
    ) as fh:
        fh.write(text)
    logging.getLogger(__name__).error("unexpected error, traceback in %s", fh.name)
    err_console.print(
        Text.assemble(
            ("error:", "bold red"),
            f" valuesync stopped on an unexpected {type(exc).__name__}. This is a bug in "
            f"valuesync, not in your files; nothing more was written. The details are in "
            f"{fh.name}: please attach that file to a bug report.",
        ),
        highlight=False,
    )
    return 1


def _is_click_exception(exc: Exception) -> bool:
    """Usage errors, from click or from the copy of click that newer Typer versions vendor."""
    import click

    kinds: list[type[Exception]] = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException as VendoredClickException
    except ImportError:  # Typer versions that use click itself
        pass
    else:
        kinds.append(VendoredClickException)
    return isinstance(exc, tuple(kinds))


def _json_error(exc: ValuesyncError, code: int) -> None:
    """With --json, stdout still gets one document: the error, its problems, the exit code."""
    import json

    problems = [
        {"file": p.file, "line": p.line, "key_path": p.key_path, "message": p.message}
        for p in getattr(exc, "problems", ())
    ]
    doc = {"error": {"type": type(exc).__name__, "message": str(exc), "problems": problems}}
    sys.stdout.write(json.dumps({**doc, "exit_code": code}, indent=2) + "\n")
