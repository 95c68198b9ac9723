"""Crash safety: `valuesync run` SIGKILLed at 20 points, then run again, ends in the same CRM
state as an uninterrupted run on an identically seeded sandbox.

The sandbox runs in this test process; the run is a real `valuesync run` subprocess. A
request observer on the sandbox (called before each request is handled) counts requests
and kills the subprocess at the Nth one, so the kill lands during pulls, right before the
first write, between write batches and late in the pushes. The killed request is still
handled by the sandbox, as a CRM finishes a request whose client has died.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.integration.pipeline.conftest import AS_OF, WRITE_PATHS, Site, crm_outputs

ROOT = Path(__file__).resolve().parents[3]
CLI = ROOT / ".venv" / "bin" / "valuesync"
ACCOUNTS = 120
POINTS = 20


def small_pages(site: Site) -> None:
    """Smallest REST pages (200 rows), so a run makes enough requests to kill it in many places."""
    project = yaml.safe_load(site.project_file.read_text())
    if site.crm == "salesforce":
        project["connections"]["sb"]["salesforce"]["rest_batch_size"] = 200
    site.project_file.write_text(yaml.safe_dump(project))


RUN_MARK = "VALUESYNC_TEST_RUN"
"""Environment variable naming the project of a run started here (found in /proc)."""


def cli_run(site: Site) -> subprocess.Popen[bytes]:
    cmd = [str(CLI), "run", "--project", str(site.project_file), "--as-of", AS_OF.isoformat(),
           "--json"]  # fmt: skip
    env = {**os.environ, **site.env, RUN_MARK: str(site.project_file)}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_points(requests: list[tuple[str, str]]) -> list[int]:
    """20 request numbers (1-based) to die at: pulls, first write, between and late writes."""
    writes = [i + 1 for i, (m, p) in enumerate(requests) if m != "GET" and WRITE_PATHS.search(p)]
    assert len(writes) >= 3, "the run must make several write calls"
    pulls = list(range(2, writes[0]))
    step = max(1, len(pulls) // (POINTS - len(writes) - 1))
    chosen = set(pulls[::step]) | set(writes) | {writes[0] - 1}
    chosen |= {writes[-1] - 1}
    points = sorted(chosen)
    while len(points) > POINTS:  # thin the pull points, keep every write point
        pull_only = [p for p in points if p < writes[0] - 1]
        points.remove(pull_only[len(pull_only) // 2])
    return points


def describe(pids: list[int]) -> list[str]:
    """pid, parent pid and command line of each process, for a failure message."""
    out = []
    for pid in pids:
        try:
            stat = (Path("/proc") / str(pid) / "stat").read_text().split()
            cmd = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
            out.append(f"{pid} (parent {stat[3]}, state {stat[2]}): {cmd.decode()[:300]}")
        except OSError:
            out.append(f"{pid} (gone)")
    return out


def left_behind(site: Site, patience: float = 10.0) -> list[int]:
    """Pids of processes still running the project's run (a pull worker whose parent was
    killed must end with it), after waiting up to `patience` seconds for them to go. A run's
    processes carry RUN_MARK in their environment (children inherit it), whatever their
    command line."""
    needle = f"{RUN_MARK}={site.project_file}".encode()
    deadline = time.monotonic() + patience
    while True:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if needle in (entry / "environ").read_bytes():
                        pids.append(int(entry.name))
                except OSError:
                    continue  # ended meanwhile
        if not pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.1)


def killed_then_rerun(
    make_site: Callable[..., Site], crm: str, point: int
) -> tuple[Site, int, str]:
    site = make_site(crm, accounts=ACCOUNTS, name=f"kill{point}")
    small_pages(site)
    seen = [0]
    holder: dict[str, subprocess.Popen[bytes]] = {}

    def observe(method: str, path: str) -> None:
        seen[0] += 1
        if seen[0] == point and "proc" in holder:
            os.kill(holder["proc"].pid, signal.SIGKILL)

    site.server.faults.observers.append(observe)
    holder["proc"] = proc = cli_run(site)
    _, killed_err = proc.communicate(timeout=120)
    site.server.faults.observers.remove(observe)
    left = left_behind(site)
    assert left == [], f"processes of the killed run still run: {describe(left)}"
    again = cli_run(site)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()[-2000:]
    return site, proc.returncode, killed_err.decode()[-1500:]


@pytest.mark.slow
@pytest.mark.timeout(900)  # 20 killed and rerun subprocess runs: 293 s on a loaded machine
@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_killed_run_then_rerun_equals_an_uninterrupted_run(
    crm: str, make_site: Callable[..., Site]
) -> None:
    reference = make_site(crm, accounts=ACCOUNTS, name="reference")
    small_pages(reference)
    log: list[tuple[str, str]] = []
    reference.server.faults.observers.append(lambda m, p: log.append((m, p)))
    done = cli_run(reference)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err.decode()[-2000:]
    expected = crm_outputs(reference, skip=("scored_at",))
    assert expected["value"].notna().any()
    points = kill_points(log)
    assert len(points) == POINTS, points

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda k: killed_then_rerun(make_site, crm, k), points))

    for point, (site, code, err) in zip(points, outcomes, strict=True):
        assert code == -signal.SIGKILL, f"the run finished before request {point}: {err}"
        got = crm_outputs(site, skip=("scored_at",))
        pd.testing.assert_frame_equal(got, expected, obj=f"CRM after a kill at request {point}")
        db = site.state()
        statuses = [r["status"] for r in db.runs("sb")]
        db.close()
        assert statuses[0] == "succeeded" and set(statuses[1:]) <= {"abandoned", "failed"}, (
            point, statuses,
        )  # fmt: skip
        stamps = got_stamps(site)
        assert stamps.notna().all(), f"kill at {point}: a written record has no scored_at"


def got_stamps(site: Site) -> pd.Series:
    """scored_at of every account (all were written, so every one must carry a stamp)."""
    frame = crm_outputs(site)
    stamps = frame[(frame["object"] == "accounts") & (frame["column"] == "scored_at")]
    return stamps["value"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-x", "-q"]))
