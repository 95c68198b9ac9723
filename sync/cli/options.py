"""What the project commands share: the --project / --connection / --json options, loading
the project file, and printing one JSON document to stdout."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mappings import DEFAULT_FILE
from mappings.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from mappings.project import LoadedProject


ProjectOpt = Annotated[
    Path,
    typer.Option(
        "--project",
        "-p",
        help="The project file (valuesync.yaml); relative paths in it resolve against its folder.",
        metavar="PATH",
    ),
]
ConnectionOpt = Annotated[
    str | None,
    typer.Option(
        "--connection",
        "-c",
        help="Which connection of the project file (needed when it defines several).",
        metavar="NAME",
    ),
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON document to stdout (progress and logs go to stderr)."
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Score as of this date, YYYY-MM-DD, exclusive (default: the first day of the "
        "current UTC month, so only complete months count).",
        metavar="DATE",
    ),
]

DEFAULT_PROJECT = Path(DEFAULT_FILE)


def load(path: Path) -> LoadedProject:
    """The project file, or a ConfigError telling how to create one when it is missing."""
    from mappings.project import load_project

    if not path.is_file():
        raise ConfigError(
            [
                ConfigProblem(
                    str(path),
                    "",
                    "there is no project file here; create one with `valuesync init --crm "
                    "salesforce` (or hubspot), or pass --project PATH",
                )
            ]
        )
    return load_project(path)


def parse_date(text: str | None, option: str = "--as-of") -> date | None:
    """A YYYY-MM-DD option value, or a ConfigError naming the option."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            [ConfigProblem("command line", option, f"{text!r} is not a date; use YYYY-MM-DD")]
        ) from None


def emit_json(doc: Any) -> None:
    """Write one JSON document to stdout (dates and paths as strings)."""
    sys.stdout.write(json.dumps(doc, indent=2, default=str, sort_keys=False) + "\n")
    sys.stdout.flush()


def examples(*lines: str) -> str:
    """A help epilog listing example command lines."""
    body = "\n\n".join(f"  $ {line}" for line in lines)
    return f"Examples:\n\n{body}"


def open_state(project: LoadedProject) -> Any:
    """The project's state database (a StateDB), as the pipeline opens it."""
    from sync.pipeline import runner as pipeline

    return pipeline.open_state(project)
