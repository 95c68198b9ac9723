"""`valuesync report`: the value matrix as one self-contained HTML page and a PNG.

Default source: the latest finished run of the project's connection in the state
database (`--run ID` for another, `--compare RUN_ID` for the earlier run of the movement
section; by default the finished run before it). With `--scores DIR` it reads the output
of `valuesync score DIR --out OUT` instead, and with `--input DIR` it scores the canonical
files itself, which also gives the what-if and the finance-matching sections.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mappings import DEFAULT_FILE
from sync.cli.consoles import stdout
from sync.report import DEFAULT_MAX_POINTS

if TYPE_CHECKING:
    from mappings.project import LoadedProject
    from sync.report.data import FinanceGaps, ReportInput


from mappings.errors import ConfigError
from sync.cli.options import ConnectionOpt, ProjectOpt

EPILOG = (
    "Examples:\n\n"
    "  $ valuesync report --out report.html\n\n"
    "  $ valuesync report --run 12 --compare 9 --daily-limit 15000\n\n"
    "  $ valuesync score ./export --out ./scores && valuesync report --scores ./scores "
    "--input ./export --out report.html"
)

OutOpt = Annotated[
    Path,
    typer.Option(
        "--out", help="The HTML page to write; the PNG goes beside it (report.html -> report.png)."
    ),
]
ScoresOpt = Annotated[
    Path | None,
    typer.Option(
        "--scores",
        metavar="DIR",
        help="Report on the output folder of `valuesync score DIR --out "
        "DIR` (account_scores, opportunity_scores) instead of the state database.",
    ),
]
InputOpt = Annotated[
    Path | None,
    typer.Option(
        "--input",
        metavar="DIR",
        help="The canonical files (as `valuesync score` reads them): "
        "scored here, and used for the what-if and the finance-matching sections.",
    ),
]
ModelOpt = Annotated[
    Path | None,
    typer.Option("--model", help="Value model of --scores / --input (default: the shipped one)."),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="DATE",
        help="As-of date for --input, YYYY-MM-DD, exclusive (default: "
        "the first day of the current UTC month).",
    ),
]
RunOpt = Annotated[
    int | None,
    typer.Option(
        "--run", metavar="ID", help="Report on this run (default: the latest finished one)."
    ),
]
CompareOpt = Annotated[
    str | None,
    typer.Option(
        "--compare",
        metavar="RUN_ID|DIR",
        help="The earlier scores for the movement section: a run "
        "id, or a `valuesync score` output folder (default: the previous finished run).",
    ),
]
MaxPointsOpt = Annotated[
    int,
    typer.Option(
        "--max-points",
        help="Draw at most this many accounts in the matrix (the rest are sampled; "
        "the page says so).",
    ),
]
LimitOpt = Annotated[
    int | None,
    typer.Option("--daily-limit", help="The CRM's daily API call limit, for the health section."),
]


def report(
    out: OutOpt = Path("report.html"),
    scores: ScoresOpt = None,
    input_dir: InputOpt = None,
    model: ModelOpt = None,
    as_of: AsOfOpt = None,
    project: ProjectOpt = Path(DEFAULT_FILE),
    connection: ConnectionOpt = None,
    run: RunOpt = None,
    compare: CompareOpt = None,
    max_points: MaxPointsOpt = DEFAULT_MAX_POINTS,
    daily_limit: LimitOpt = None,
) -> None:
    """Write the value matrix report: one self-contained HTML page and a PNG for slides."""
    from sync.report.build import write_report

    if scores is not None or input_dir is not None:
        inp = _files_input(scores, input_dir, model, _as_of(as_of), compare)
    else:
        inp = _state_input(project, connection, run, compare, daily_limit)
    files = write_report(inp, Path(out), max_points=max_points)
    stdout().print(
        f"wrote {files.html} ({files.html_mb:.1f} MB) and {files.png} in {files.seconds:.1f} s"
    )
    if files.data.sampled:
        stdout().print(files.data.sampled)


def _as_of(text: str | None) -> date:
    if text is None:
        return datetime.now(UTC).date().replace(day=1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--as-of {text!r} is not a date; write it as YYYY-MM-DD") from None


def _files_input(
    scores: Path | None,
    input_dir: Path | None,
    model_path: Path | None,
    day: date,
    compare: str | None,
) -> ReportInput:
    from sync.pipeline.model_file import load_value_model
    from sync.report.data import ReportInput, Scores
    from sync.report.sources import from_input, read_scores_dir, with_names

    model = load_value_model(model_path)
    current: Scores | None = read_scores_dir(scores, model) if scores is not None else None
    whatif = gaps = None
    if input_dir is not None:
        computed, whatif, gaps, names = from_input(input_dir, model, day)
        # the engine's thresholds are exact; those recomputed from rounded scores may differ
        current = (
            computed
            if current is None
            else replace(
                with_names(current, names),
                cuts=computed.cuts,
                as_of=computed.as_of,
                segments=computed.segments,
            )
        )
    assert current is not None
    previous = None
    if compare is not None:
        if compare.isdigit():
            raise ConfigError(
                f"--compare {compare}: a run id needs the state database; with "
                "--scores / --input give a scores folder"
            )
        previous = read_scores_dir(Path(compare), model)
    notes = [] if whatif is not None else ["what-if and finance matching need --input DIR"]
    return ReportInput(current=current, previous=previous, whatif=whatif, finance=gaps, notes=notes)


def _state_input(
    project_path: Path,
    connection: str | None,
    run: int | None,
    compare: str | None,
    daily_limit: int | None,
) -> ReportInput:
    from mappings.project import load_project
    from sync.pipeline.model_file import load_value_model
    from sync.report.data import ReportInput, Scores
    from sync.report.sources import StateSource, read_scores_dir

    if not project_path.is_file():
        raise ConfigError(
            f"{project_path}: there is no project file here; pass --project PATH, or report on "
            "files with --scores DIR (the output of `valuesync score`) or --input DIR"
        )
    project = load_project(project_path)
    name, conn = project.connection(connection)
    model = load_value_model(project.resolve(conn.value_model))
    source = StateSource(open_state(project), name, model)
    run_id = run if run is not None else source.latest()
    current = source.scores(run_id)
    previous: Scores | None = None
    if compare is not None and not compare.isdigit():
        previous = read_scores_dir(Path(compare), model)
    else:
        prev_id = int(compare) if compare is not None else source.previous(run_id)
        previous = source.scores(prev_id) if prev_id is not None else None
    runs, rejected = source.health(run_id)
    return ReportInput(
        current=current,
        previous=previous,
        runs=runs,
        rejected=rejected,
        daily_limit=daily_limit or _limit(runs),
        finance=_finance(runs),
        notes=["what-if needs the input files: `valuesync score` them or pass --input DIR"],
    )


def _limit(runs: list[dict[str, Any]]) -> int | None:
    """A daily API limit the pipeline recorded with a run's counts, if any."""
    for run in runs:
        value = (run.get("counts") or {}).get("api_daily_limit")
        if isinstance(value, int) and value > 0:
            return value
    return None


def _finance(runs: list[dict[str, Any]]) -> FinanceGaps | None:
    """The finance-join figures the pipeline stored with the latest run, if any."""
    import pandas as pd

    from sync.report.data import FinanceGaps

    for run in runs[:1]:
        fin = (run.get("counts") or {}).get("finance") or {}
        figures = {k: v for k, v in fin.items() if isinstance(v, int | float)}
        if figures:
            return FinanceGaps(pd.DataFrame(), pd.DataFrame(), figures)
    return None


def open_state(project: LoadedProject) -> Any:
    """The project's state database, opened as the pipeline opens it."""
    from sync.pipeline.runner import open_state as pipeline_open_state

    return pipeline_open_state(project)


__all__ = ["report"]
