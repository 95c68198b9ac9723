"""Crash safety of HubSpot imports: `valuesync run` SIGKILLed while its imports start and
run, then run again, ends in the same CRM state as an uninterrupted run.

The project imports from 20 changed records on. In the killed run the sandbox keeps each
import PROCESSING for 30 s before its rows apply, so a run killed while polling leaves an
import running when the next run starts: that run must wait for it (not write under it)
and still converge. The pattern is test_crash.py's: a request observer kills the run at
the Nth request, the killed request is still handled.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pandas as pd
import pytest
import yaml

from tests.integration.pipeline.conftest import Site, crm_outputs
from tests.integration.pipeline.test_crash import cli_run, describe, left_behind

ACCOUNTS = 120
IMPORT_SECONDS = 30.0
"""Longer than a rerun takes to reach its push, so a killed run's import still runs then."""


def importing(make_site: Callable[..., Site], name: str) -> Site:
    site = make_site("hubspot", accounts=ACCOUNTS, name=name)
    project = yaml.safe_load(site.project_file.read_text())
    project["connections"]["sb"]["hubspot"]["import_threshold"] = 20
    site.project_file.write_text(yaml.safe_dump(project))
    return site


def slow_imports(site: Site, seconds: float) -> None:
    """Imports started from now on stay PROCESSING `seconds` before their rows apply."""
    faults = site.server.faults
    faults.profile = replace(faults.profile, hs_import_seconds=seconds)


def kill_points(requests: list[tuple[str, str]]) -> list[int]:
    """Request numbers (1-based): before the first import, at each start, at its first poll."""
    starts = [i + 1 for i, (m, p) in enumerate(requests) if m == "POST" and "/imports" in p]
    assert len(starts) >= 2, f"the run must import accounts and opportunities: {requests}"
    return sorted({starts[0] - 1, *starts, *[s + 1 for s in starts]})


def killed_then_rerun(make_site: Callable[..., Site], point: int) -> tuple[Site, int, bool]:
    site = importing(make_site, f"kill{point}")
    seen = [0]
    holder: dict[str, subprocess.Popen[bytes]] = {}

    def observe(method: str, path: str) -> None:
        seen[0] += 1
        if seen[0] == point and "proc" in holder:
            os.kill(holder["proc"].pid, signal.SIGKILL)

    site.server.faults.observers.append(observe)
    slow_imports(site, IMPORT_SECONDS)
    holder["proc"] = proc = cli_run(site)
    proc.communicate(timeout=120)
    site.server.faults.observers.remove(observe)
    slow_imports(site, 0.0)  # the killed run's import keeps its 30 s
    left = left_behind(site)
    assert left == [], f"processes of the killed run still run: {describe(left)}"
    calls = site.server.hs.calls
    lists, starts = calls["imports_list"], calls["imports_create"]
    again = cli_run(site)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()[-2000:]
    # one list per import started when nothing runs; more: it found one running and waited
    waited = calls["imports_list"] - lists > calls["imports_create"] - starts
    return site, proc.returncode, waited


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_killed_import_run_then_rerun_equals_an_uninterrupted_run(
    make_site: Callable[..., Site],
) -> None:
    reference = importing(make_site, "reference")
    log: list[tuple[str, str]] = []
    reference.server.faults.observers.append(lambda m, p: log.append((m, p)))
    done = cli_run(reference)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err.decode()[-2000:]
    assert reference.server.hs.calls["batch_update"] == 0, "the reference run must import"
    expected = crm_outputs(reference, skip=("scored_at",))
    assert expected["value"].notna().any()
    points = kill_points(log)

    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(lambda k: killed_then_rerun(make_site, k), points))

    for point, (site, code, _) in zip(points, outcomes, strict=True):
        assert code == -signal.SIGKILL, f"the run finished before request {point}"
        got = crm_outputs(site, skip=("scored_at",))
        pd.testing.assert_frame_equal(got, expected, obj=f"CRM after a kill at request {point}")
        db = site.state()
        statuses = [r["status"] for r in db.runs("sb")]
        db.close()
        assert statuses[0] == "succeeded" and set(statuses[1:]) <= {"abandoned", "failed"}
    assert any(waited for _, _, waited in outcomes), "no rerun met an import still running"
