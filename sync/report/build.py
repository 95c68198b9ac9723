"""The value matrix report: one self-contained HTML page and a PNG of the matrix.

`write_report(inp, out)` assembles the figures (`report_data`), renders the page
(`report_html`, plotly) and the PNG (`report_png`, matplotlib) and writes both. Where the
input comes from is `report_sources`' business; `sync/cli/report.py` is the CLI.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from mappings.errors import ConfigError
from sync.report import DEFAULT_MAX_POINTS
from sync.report import html as report_html
from sync.report import png as report_png
from sync.report.data import ReportData, ReportInput, assemble


@dataclass(frozen=True)
class ReportFiles:
    """What `write_report` wrote, with the figures it drew and how long it took."""

    html: Path
    png: Path
    data: ReportData
    seconds: float

    @property
    def html_mb(self) -> float:
        return self.html.stat().st_size / 1e6


def png_path_for(html: Path) -> Path:
    """The PNG next to the page: report.html -> report.png."""
    return html.with_suffix(".png")


def write_report(
    inp: ReportInput,
    out: Path,
    *,
    png: Path | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
) -> ReportFiles:
    """Write the HTML page to `out` and the matrix PNG to `png` (default: beside it)."""
    if max_points < 100:
        raise ConfigError(f"--max-points {max_points}: give at least 100 points to draw")
    start = time.perf_counter()
    png = png or png_path_for(out)
    for path in (out, png):
        if path.parent and not path.parent.is_dir():
            raise ConfigError(f"{path}: the folder {path.parent} does not exist; create it first")
    data = assemble(inp, max_points=max_points)
    page = report_html.render(data, png_name=png.name if png.parent == out.parent else str(png))
    out.write_text(page, encoding="utf-8")
    report_png.draw(data, png)
    return ReportFiles(out, png, data, time.perf_counter() - start)
