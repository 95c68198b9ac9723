"""The report page in headless Chromium: labels and axis titles rendered, nothing fetched."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from report_helpers import AS_OF, CHROMIUM, SKIP_REASON, render, sample_input, valuesync

from sync.report.figures import X_TITLE, Y_TITLE
from sync.report.html import external_references

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
LABELS = ("Core", "Fix or Reprice", "Develop", "Deprioritize")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("report-page")
    sample_input(work / "input")
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
