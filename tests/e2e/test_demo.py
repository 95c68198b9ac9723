"""`valuesync demo`, run as a user runs it (`make demo`): a subprocess in a fresh folder.

Each CRM: the matrix is printed with every quadrant label, the rep's examples and the A/B
pair are read back from the sandbox CRM, the second pass writes nothing, the report files
exist, the next steps are shown, the exit code is 0, and it ends well within 3 minutes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

VALUESYNC = str(Path(sys.executable).parent / "valuesync")
ENV = {**os.environ, "COLUMNS": "220", "NO_COLOR": "1", "TERM": "dumb"}
LABELS = ("Core", "Fix or Reprice", "Develop", "Deprioritize")
LIMIT_S = 180


def demo(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [VALUESYNC, "demo", *args], cwd=cwd, env=ENV, capture_output=True, text=True,
        timeout=LIMIT_S + 30,
    )  # fmt: skip
    return done, time.monotonic() - started


@pytest.mark.parametrize(
    ("crm", "record_kind"),
    [("salesforce", "Opportunity records"), ("hubspot", "Deal records")],
    ids=["salesforce", "hubspot"],
)
def test_demo_syncs_shows_the_matrix_and_a_second_pass_writes_nothing(
    tmp_path: Path, crm: str, record_kind: str
) -> None:
    done, seconds = demo("--crm", crm, "--accounts", "200", cwd=tmp_path)

    out = done.stdout
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert seconds < LIMIT_S
    first = re.search(r"first pass \(run 1, as of \S+\): .* ([\d,]+) records written", out)
    assert first and int(first.group(1).replace(",", "")) > 200  # accounts + opportunities
    assert "The value matrix" in out and all(label in out for label in LABELS)
    assert f"As a sales rep sees it: {record_kind}, read back from the CRM" in out
    assert "Pursue" in out or "Deprioritize" in out  # deal priorities as the CRM holds them
    assert "Alpha Precision GmbH" in out and "Beta Bulk Trading Ltd" in out
    assert out.count("€100,000") >= 2 and "€35,000" in out and "€12,000" in out
    assert "second pass: 0 records written" in out
    folder = tmp_path / ".valuesync" / "demo" / crm
    assert (folder / "report.html").stat().st_size > 0 and (folder / "report.png").is_file()
    project = (folder / "valuesync.yaml").read_text()
    assert "sandbox-password" not in project and "pat-sandbox" not in project  # names only
    assert "valuesync init" in out and "fields provision" in out


def test_the_a_b_pair_lands_in_different_quadrants(tmp_path: Path) -> None:
    done, _ = demo("--crm", "salesforce", "--accounts", "100", "--seed", "11", cwd=tmp_path)

    assert done.returncode == 0, done.stderr[-3000:]
    row = next(line for line in done.stdout.splitlines() if "Value Quadrant (in the CRM)" in line)
    quadrants = [cell.strip() for cell in row.split("│")[2:4]]
    assert quadrants[0] in LABELS and quadrants[1] in LABELS
    assert quadrants[0] != quadrants[1]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--crm", "pipedrive"), "salesforce, hubspot, both"),
        (("--accounts", "1"), "--accounts"),
    ],
    ids=["unknown crm", "too few accounts"],
)
def test_bad_options_are_one_clear_message(tmp_path: Path, args: tuple[str, ...], needle: str):
    done, _ = demo(*args, cwd=tmp_path)

    assert done.returncode == 2
    assert needle in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr
