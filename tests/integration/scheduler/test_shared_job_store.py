"""Several `valuesync scheduler start` processes share the job store in the state database
and never run one connection twice at once (SQLite and PostgreSQL).

APScheduler 3 does not coordinate processes, so every process fires a due job; the
connection lock decides. Proof from the runs table: no two runs of the connection overlap
in time; and at least one process logged a refusal.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mappings.project import load_project
from sync.scheduler import Schedules, interval_trigger, state_url

from .conftest import Site

VALUESYNC = str(Path(sys.executable).parent / "valuesync")
PROCESSES = 3


def vs(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VALUESYNC, *args], cwd=site.folder, env=site.env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def _utc(ts: Any) -> datetime:
    return ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)


def slow_queries(site: Site, seconds: float) -> None:
    """Every SOQL query takes `seconds` longer, so a run lasts a few seconds."""
    site.server.faults.observers.append(
        lambda method, path: time.sleep(seconds) if "/query" in path else None
    )


def test_processes_sharing_the_job_store_never_overlap_a_connection(
    site: Site, tmp_path: Path
) -> None:
    added = vs(site, "schedule", "add", "--connection", "sb", "--every", "2", "--json")
    assert added.returncode == 0, added.stderr
    slow_queries(site, 0.4)
    logs = [tmp_path / f"scheduler-{i}.log" for i in range(PROCESSES)]
    procs = [
        subprocess.Popen(
            [VALUESYNC, "scheduler", "start"],
            cwd=site.folder,
            env=site.env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )  # fmt: skip
        for log in logs
    ]
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            time.sleep(1)
            done = [r for r in site.runs() if r["status"] == "succeeded"]
            refused = sum(log.read_text().count("refused:") for log in logs)
            if len(done) >= 3 and refused:
                break
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=60) for p in procs]
    text = [log.read_text() for log in logs]
    assert codes == [0] * PROCESSES, text
    runs = sorted(site.runs(), key=lambda r: r["id"])
    assert len([r for r in runs if r["status"] == "succeeded"]) >= 3, runs
    assert {r["status"] for r in runs} <= {"succeeded"}, runs
    for before, after in zip(runs, runs[1:], strict=False):
        assert _utc(before["finished_at"]) <= _utc(after["started_at"]), (before, after)
    refusals = [line for t in text for line in t.splitlines() if "refused:" in line]
    print(f"{len(runs)} runs, none overlapping; {len(refusals)} refusals in {PROCESSES} processes")
    assert refusals, text
    assert "another valuesync run is already working on connection 'sb'" in refusals[0]
    assert all("Traceback" not in t for t in text)
    assert all("scheduler stopped" in t for t in text)


def test_once_due_runs_what_is_due_and_moves_it_on(site: Site) -> None:
    project = load_project(site.project_file)
    url = state_url(project, site.env)
    with Schedules(url) as store:
        job = store.add(project, "sb", interval_trigger(3600))
        store.scheduler.modify_job(job.id, next_run_time=datetime.now(UTC))
    ran = vs(site, "scheduler", "start", "--once-due", "--json")
    assert ran.returncode == 0, ran.stderr
    assert '"status": "succeeded"' in ran.stdout
    again = vs(site, "scheduler", "start", "--once-due")
    assert again.returncode == 0 and "no job was due" in again.stdout
    assert [r["status"] for r in site.runs()] == ["succeeded"]
    with Schedules(url) as store:
        (listed,) = store.list()
    assert listed.next_run is not None and listed.next_run > datetime.now(UTC)
