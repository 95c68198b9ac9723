"""The report page in headless Chromium: labels and axis titles rendered, nothing fetched."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image
from report_helpers import AS_OF, CHROMIUM, SKIP_REASON, render, sample_input, valuesync

from sync.pipeline.model_file import SHIPPED_VALUE_MODEL
from sync.report.figures import ACTIVITIES, X_TITLE, Y_TITLE, axis_titles
from sync.report.html import SEGMENT_HEADERS, external_references

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
LABELS = ("Core", "Fix or Reprice", "Develop", "Deprioritize")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("report-page")
    sample_input(work / "input")
    done = valuesync("score", "input", "--as-of", AS_OF, "--out", "scores", cwd=work)
    assert done.returncode == 0, done.stderr
    done = valuesync(
        "report", "--input", "input", "--as-of", AS_OF, "--out", "report.html", cwd=work
    )
    assert done.returncode == 0, done.stderr
    return work / "report.html"


def test_matrix_labels_and_axis_titles_are_rendered_offline(page: Path, tmp_path: Path) -> None:
    shown = render(page, tmp_path)
    texts = shown.svg_texts()
    for label in LABELS:
        assert texts.count(label) >= 2, label  # a corner of the matrix, and the legend
    assert X_TITLE in texts and Y_TITLE in texts
    assert any(t.startswith("value threshold") for t in texts)
    assert shown.page_requests == []
    image = Image.open(shown.screenshot).convert("RGB")
    assert image.size == (1400, 1000)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200  # a drawn chart, not a blank page


def test_segment_section_renders(page: Path, tmp_path: Path) -> None:
    shown = render(page, tmp_path)
    texts = shown.svg_texts()
    assert "What winning, selling and serving each segment costs, against its margin" in texts
    for _, title, _ in ACTIVITIES:
        assert title in texts, title
    assert "Gross margin (12m)" in texts
    segments = pd.read_csv(page.parent / "scores" / "segment_scores.csv")
    largest = segments.loc[segments["revenue_12m"].idxmax(), "segment"]
    assert largest in texts  # a bar's label on the segment axis
    table = shown.dom.split('id="segment-table"', 1)[1].split("</table>", 1)[0]
    for header in SEGMENT_HEADERS.values():
        assert f"<th>{header}</th>" in table, header
    assert table.count("<tr>") == len(segments) + 1  # the header row and one per segment


def test_axis_titles_follow_the_preset_in_the_browser(page: Path, tmp_path: Path) -> None:
    model = yaml.safe_load(SHIPPED_VALUE_MODEL.read_text())
    model["quadrants"]["preset"] = "persona_value"
    model.pop("rules", None)
    work = page.parent
    (work / "persona.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    done = valuesync(
        "report", "--input", "input", "--model", "persona.yaml", "--as-of", AS_OF,
        "--out", "persona.html", cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    texts = render(work / "persona.html", tmp_path).svg_texts()
    across, up = axis_titles(("customer value", "persona alignment"))
    assert across.startswith("Persona alignment (0–100)") and across in texts
    assert up.startswith("Customer value (0–100)") and up in texts
    assert X_TITLE not in texts and Y_TITLE not in texts
    assert any(t.startswith("customer value threshold") for t in texts)


def test_page_has_no_reference_outside_the_file(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert external_references(text) == []
    assert "cdn.plot.ly" not in text.split("<script", 1)[0]
    assert 3e6 < len(text) < 15e6  # plotly.js is inside


def test_a_page_with_an_outside_resource_is_caught(tmp_path: Path) -> None:
    """The checks can fail: a page that pulls a script from a CDN is seen by both."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<html><body><script src='https://cdn.example.com/p.js'></script>"
        "<img src='//img.example.com/x.png'>hi</body></html>"
    )
    assert external_references(bad.read_text()) == [
        "https://cdn.example.com/p.js",
        "//img.example.com/x.png",
    ]
    requests = render(bad, tmp_path).page_requests
    assert "https://cdn.example.com/p.js" in requests
