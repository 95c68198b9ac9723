"""The report's segment section (EngineResult.segments as a table and a picture) and its
axis titles, which follow the model's preset."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sync.cli.score import read_tables
from sync.pipeline.model_file import SHIPPED_VALUE_MODEL, load_value_model
from sync.report import figures
from sync.report import html as report_html
from sync.report.data import ReportInput, assemble
from sync.report.sources import from_input, read_scores_dir
from value_engine import ValueModel, compute, parse_value_model
from value_engine.explain import money

AS_OF = date(2026, 7, 1)  # as in conftest.py: the sample data ends on 2026-06-30

MONEY = {
    "Revenue (12m)": "revenue_12m",
    "Acquisition / year": "acquisition_cost_per_year",
    "Sales (12m)": "sales_cost_12m",
    "Delivery (12m)": "delivery_cost_12m",
    "Service (12m)": "service_cost_12m",
    "Gross margin (12m)": "gross_margin_12m",
    "Net contribution (12m)": "net_contribution_12m",
}


def preset_model(preset: str) -> ValueModel:
    """The shipped model under another preset, with that preset's default rules."""
    data = yaml.safe_load(SHIPPED_VALUE_MODEL.read_text())
    data["quadrants"]["preset"] = preset
    data.pop("rules", None)
    return parse_value_model(data, f"shipped model as {preset}")


def segment_table(page: str) -> pd.DataFrame:
    """The segment table of a rendered page, as text cells under their headers."""
    block = page.split("<div id='segment-table'>", 1)[1].split("</table>", 1)[0]
    head = [unescape(h) for h in re.findall(r"<th>(.*?)</th>", block)]
    rows = [
        [unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", block.split("<tbody>", 1)[1])
    ]
    return pd.DataFrame(rows, columns=head)


def _ratio(v: float) -> str:
    return "–" if pd.isna(v) else f"{v:,.1f}"


def test_segment_table_shows_the_engines_segments(sample_dirs: tuple[Path, Path]) -> None:
    input_dir, _ = sample_dirs
    model = load_value_model(None)
    expected = compute(read_tables(input_dir, model), model, as_of=AS_OF).segments
    scores, *_ = from_input(input_dir, model, AS_OF)
    page = report_html.render(assemble(ReportInput(scores)))
    assert "3. Segments and the value chain" in page and "fig-segments" in page
    shown = segment_table(page).set_index("Segment")
    assert len(expected) > 3
    assert sorted(shown.index) == sorted(expected["segment"])
    first = shown.index[0]
    assert first == expected.loc[expected["revenue_12m"].idxmax(), "segment"]
    for row in expected.itertuples(index=False):
        got = shown.loc[row.segment]
        assert int(got["Accounts"].replace(",", "")) == row.accounts
        assert int(got["Customers"].replace(",", "")) == row.customers
        for header, column in MONEY.items():
            assert got[header] == money(getattr(row, column), "EUR"), (row.segment, header)
        alignment = "–" if pd.isna(row.alignment) else f"{row.alignment:.2f}"
        assert got["Alignment"] == alignment
        assert got["LTV:CAC"] == _ratio(row.ltv_to_cac)
        assert got["CAC payback (months)"] == _ratio(row.cac_payback_months)


def test_scores_folder_carries_the_segments(sample_dirs: tuple[Path, Path]) -> None:
    """`valuesync score --out` writes segment_scores; the report reads them back as they were."""
    input_dir, scores_dir = sample_dirs
    model = load_value_model(None)
    expected = compute(read_tables(input_dir, model), model, as_of=AS_OF).segments
    data = assemble(ReportInput(read_scores_dir(scores_dir, model)))
    assert data.segments is not None
    got = data.segments.set_index("segment").sort_index()
    want = expected.set_index("segment").sort_index()
    for column in ("accounts", "revenue_12m", "service_cost_12m", "alignment", "ltv_to_cac"):
        pd.testing.assert_series_equal(
            got[column], want[column], check_dtype=False, check_names=False, rtol=1e-9
        )


def test_without_segments_the_section_says_what_to_pass(sample_dirs: tuple[Path, Path]) -> None:
    _, scores_dir = sample_dirs
    model = load_value_model(None)
    scores = read_scores_dir(scores_dir, model)
    data = assemble(ReportInput(scores.__class__(**{**scores.__dict__, "segments": None})))
    page = report_html.render(data)
    assert "carry no segment table" in page and "pass --input DIR" in page
    assert "<div id='segment-table'>" not in page


@pytest.mark.parametrize(
    ("preset", "across", "up"),
    [
        ("value_matrix", "Fit score (0–100)", "Value score (0–100)"),
        ("persona_value", "Persona alignment (0–100)", "Customer value (0–100)"),
        ("value_chain", "Value-chain alignment (0–100)", "Value score (0–100)"),
    ],
)
def test_axis_titles_follow_the_preset(
    sample_dirs: tuple[Path, Path], preset: str, across: str, up: str
) -> None:
    input_dir, _ = sample_dirs
    model = preset_model(preset)
    result = compute(read_tables(input_dir, model), model, as_of=AS_OF)
    scores, *_ = from_input(input_dir, model, AS_OF)
    data = assemble(ReportInput(scores))
    assert data.axes == result.axes
    fig = figures.matrix(data)
    assert fig.layout.xaxis.title.text.startswith(across)
    assert fig.layout.yaxis.title.text.startswith(up)
    page = report_html.render(data)
    up_axis, across_axis = result.axes
    assert f"{up_axis} score up, {across_axis} score across" in page
    if preset != "value_matrix":
        assert figures.X_TITLE not in page and "Fit score" not in fig.layout.xaxis.title.text
