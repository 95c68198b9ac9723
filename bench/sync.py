"""Benchmark of whole sync runs against the sandbox CRM, per CRM (Salesforce, HubSpot).

For each CRM: seed N accounts (default 100,000) and their opportunities, tickets and
invoices into a sandbox served by a *separate process* (a CRM is another machine; in one
process the sandbox and the pipeline would share one GIL), then through the real client
libraries and the pipeline:

1. the initial run: `pipeline.run` on a fresh state database (full pull, finance join,
   compute, diff, push of every output value);
2. a run that re-reads what the initial run wrote (its writes advanced the modified
   stamps) and writes nothing: the steady state starts after it (`settle_run_s`);
3. 1 % of the accounts and 1 % of the opportunities change in the CRM (employees doubled,
   amounts +10 %), written through the real clients, so their modified stamps advance;
4. the incremental run: `pipeline.run` again.

Printed: seconds per phase, API calls by kind, records and write calls, and the minimum
write calls the batch sizes allow (Salesforce ceil(n/200) per object with sObject
Collections below the Bulk threshold, one Bulk 2.0 job's calls above it; HubSpot
ceil(n/100) below `import_threshold`, one CRM import's calls from it on). Ends with one
JSON line per CRM. Targets: initial run <= 300 s (HubSpot <= 150 s), incremental run <=
30 s (HubSpot <= 15 s), write calls equal to the minimum (HubSpot's initial push of
100,000 companies and deals: <= 20 write calls).

These runs use a sandbox without HubSpot's rate limits. A real portal allows 100-190
calls per 10 s, which alone puts a floor under a HubSpot run: calls / 19 seconds. So
HubSpot gets one more initial run, on a sandbox with the `limits` profile (190 calls per
10 s, 5 searches per second) and the demo project's pacing, on `--throttled-accounts`
accounts (default 10,000: at 100,000 the floor alone is a quarter of an hour); it prints
its time against the floor computed from the calls it made (target: within 1.1x).

Run: .venv/bin/python bench/sync.py [--accounts N] [--crm salesforce|hubspot|both]
     [--throttled-accounts N (0: skip)]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.sandbox.faults import PROFILES, FaultProfile  # noqa: E402
from connectors.sandbox.site import CONNECTION, sandbox_env  # noqa: E402

UNLIMITED = FaultProfile(
    # a limit far above what the bench uses: X-HubSpot-RateLimit-Max then says so (with 0
    # the sandbox would announce HubSpot Pro's 190 and the client would pace to it)
    hs_ten_second_limit=1_000_000,
    hs_search_per_second=0,
    hs_daily_limit=100_000_000,
    sf_daily_limit=100_000_000,
)
THROTTLED = replace(PROFILES["limits"], hs_daily_limit=100_000_000, sf_daily_limit=100_000_000)
"""HubSpot Pro's limits (190 calls per 10 s, 5 searches per second), no daily cap."""
CHANGE_SHARE = 0.01


def serve(
    crm: str, accounts: int, seed: int, folder: str, conn: Any, profile: FaultProfile = UNLIMITED
) -> None:
    """Child process: seed, serve on loopback, write the project; send (url, seed s)."""
    from connectors.sandbox.hubspot.schema import new_portal_store
    from connectors.sandbox.load import load_hubspot, load_salesforce
    from connectors.sandbox.salesforce.schema import new_org_store
    from connectors.sandbox.sampledata import generate
    from connectors.sandbox.server import SandboxServer
    from connectors.sandbox.site import sample_as_of, write_project
    from connectors.sandbox.store import Clock

    start = time.perf_counter()
    data = generate(accounts, seed, as_of=sample_as_of())
    sf = hs = None
    if crm == "salesforce":
        sf = new_org_store()
        load_salesforce(sf, data)
    else:
        hs = new_portal_store()
        load_hubspot(hs, data)
        # The portal stamps every write 1 ms after the previous one, so 400,000 writes in
        # two minutes would stamp records minutes in the future, where no incremental
        # window (which ends at "now") reaches yet. Real HubSpot stamps writes with the
        # time they happen, several records per millisecond; so does this clock.
        hs.clock = Clock(resolution_ms=1)
    seeded = time.perf_counter() - start
    server = SandboxServer(sf_store=sf, hs_store=hs, profile=profile).start()
    write_project(Path(folder), crm, server.url, data)
    related = len(data.opportunities) + len(data.tickets) + len(data.invoices)
    conn.send((server.url, seeded, related))
    conn.recv()  # until the parent is done
    server.stop()


def unthrottled(project_file: Path, crm: str) -> None:
    """Lift the demo project's HubSpot pacing (the sandbox enforces no limit here)."""
    doc = yaml.safe_load(project_file.read_text())
    block = doc["connections"][CONNECTION][crm]
    if crm == "hubspot":
        block["rate_limits"] = {"ten_second_limit": 1_000_000, "search_per_second": 100_000}
    project_file.write_text(yaml.safe_dump(doc, sort_keys=False))


def change_one_percent(crm: str, url: str, state: Any) -> dict[str, int]:
    """Change 1 % of accounts and opportunities through the real client; counts."""
    changed: dict[str, int] = {}
    for table, field, factor in (("accounts", "employees", 2.0), ("opportunities", "amount", 1.1)):
        frame = state.mirror_frame(CONNECTION, table)
        key = "account_id" if table == "accounts" else "opportunity_id"
        step = max(1, round(1 / CHANGE_SHARE))
        part = frame.iloc[::step]
        values = [None if v != v else round(float(v) * factor) for v in part[field].astype(float)]
        ids = part[key].astype(str).tolist()
        if crm == "salesforce":
            _sf_update(url, table, ids, field, values)
        else:
            _hs_update(url, table, ids, field, values)
        changed[table] = len(ids)
    return changed


def _sf_update(url: str, table: str, ids: list[str], field: str, values: list[Any]) -> None:
    from connectors.sandbox.clients import salesforce_client

    sf = salesforce_client(url)
    obj = {"accounts": "Account", "opportunities": "Opportunity"}[table]
    name = {"employees": "NumberOfEmployees", "amount": "Amount"}[field]
    for i in range(0, len(ids), 200):
        records = [
            {"attributes": {"type": obj}, "Id": rid, name: v}
            for rid, v in zip(ids[i : i + 200], values[i : i + 200], strict=True)
        ]
        sf.restful("composite/sobjects", method="PATCH",
                   json={"allOrNone": False, "records": records})  # fmt: skip


def _hs_update(url: str, table: str, ids: list[str], field: str, values: list[Any]) -> None:
    from hubspot.crm.objects import BatchInputSimplePublicObjectBatchInput

    from connectors.sandbox.clients import hubspot_client

    api = hubspot_client(url).crm.objects.batch_api
    obj = {"accounts": "companies", "opportunities": "deals"}[table]
    name = {"employees": "numberofemployees", "amount": "amount"}[field]
    for i in range(0, len(ids), 100):
        inputs = [
            {"id": rid, "properties": {name: "" if v is None else str(v)}}
            for rid, v in zip(ids[i : i + 100], values[i : i + 100], strict=True)
        ]
        api.update(obj, BatchInputSimplePublicObjectBatchInput(inputs=inputs))


BULK_JOB_CALLS = 4
"""A Bulk 2.0 update job with no failed rows: create, upload, close, one status poll."""
IMPORT_CALLS = 3
"""A HubSpot import with no failed rows: the running-imports check, the start, one poll."""


def min_write_calls(setup: Any, report: Any) -> int:
    """The fewest write calls the batch sizes allow for what this run wrote, per object:
    Salesforce ceil(n/200) with Collections, one Bulk job's calls from the Bulk threshold
    on; HubSpot ceil(n/100), one import's calls from the import threshold on."""
    total = 0
    for counts in report.objects.values():
        n = counts.records_changed
        if n == 0:
            continue
        if setup.crm == "salesforce":
            sf = setup.connection.salesforce
            total += BULK_JOB_CALLS if n >= sf.bulk_write_threshold else math.ceil(n / 200)
        else:
            hs = setup.connection.hubspot
            total += IMPORT_CALLS if n >= hs.import_threshold else math.ceil(n / 100)
    return total


def overlap_seconds(setup: Any) -> float:
    """How far an incremental pull re-reads before its cursor (late commits, index lag)."""
    if setup.crm == "salesforce":
        return float(setup.connection.salesforce.overlap_seconds)
    return float(setup.connection.hubspot.cursor_overlap_seconds)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc; 0.0 where absent."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU time of this process and of its children that ended (a full read's pull worker;
    the sandbox, still running, is not among them)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def cpu_probe() -> float:
    """Seconds a fixed pure-Python workload takes now: this host's speed at the moment, so
    figures taken at different times can be compared (the VMs this runs on vary); the
    fastest of three tries."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(3_000_000):
            total += (i * 7) % 13
        json.dumps([{"k": str(i), "v": i * 0.5} for i in range(100_000)])
        times.append(time.perf_counter() - start)
    return round(min(times), 3)


def timed_run(label: str, project: Any, env: dict[str, str], sandbox_pid: int) -> tuple[Any, float]:
    from sync.pipeline import runner as pipeline

    start = time.perf_counter()
    cpu, sandbox_cpu = own_cpu(), cpu_seconds(sandbox_pid)
    report = pipeline.run(project, env=env)
    seconds = time.perf_counter() - start
    cpu, sandbox_cpu = own_cpu() - cpu, cpu_seconds(sandbox_pid) - sandbox_cpu
    print(
        f"  {label}: {seconds:.1f} s, status {report.status} "
        f"(CPU: valuesync {cpu:.1f} s, sandbox {sandbox_cpu:.1f} s)"
    )
    return report, seconds


def show(report: Any, minimum: int) -> None:
    phases = ", ".join(f"{k} {v:.1f}" for k, v in report.phase_seconds.items())
    calls = ", ".join(f"{k} {v:,}" for k, v in sorted(report.api_calls.items()) if v)
    print(f"    seconds per phase: {phases}")
    print(f"    API calls: {calls}")
    for name, c in report.objects.items():
        print(
            f"    {name:<14} pulled {c.pulled:>9,}  changed {c.records_changed:>7,}  "
            f"written {c.written:>7,}  rejected {c.rejected:>3,}  write calls {c.write_calls:>5,}"
        )
    print(f"    write calls {report.write_calls:,} (minimum {minimum:,})")


def bench(crm: str, accounts: int, seed: int) -> dict[str, Any]:
    from mappings.project import load_project
    from sync.pipeline import runner as pipeline
    from sync.pipeline.setup import load_setup

    probe = cpu_probe()
    print(f"== {crm}: {accounts:,} accounts (CPU probe {probe:.2f} s)")
    with tempfile.TemporaryDirectory(prefix=f"bench-sync-{crm}-") as tmp:
        folder = Path(tmp) / "project"
        parent, child = mp.get_context("fork").Pipe()
        proc = mp.get_context("fork").Process(
            target=serve, args=(crm, accounts, seed, str(folder), child), daemon=True
        )
        proc.start()
        try:
            url, seeded, related = parent.recv()
            print(f"  seeded {accounts:,} accounts + {related:,} related records: {seeded:.1f} s")
            unthrottled(folder / "valuesync.yaml", crm)
            project, env = load_project(folder / "valuesync.yaml"), sandbox_env()
            setup = load_setup(project, None)
            pipeline.provision_fields(project, env=env)
            first, first_s = timed_run("initial run", project, env, proc.pid)
            first_min = min_write_calls(setup, first)
            show(first, first_min)
            # The initial run's own writes advanced every modified stamp, so the next run
            # re-reads them once (and writes nothing); the steady state starts after it.
            # It starts after the cursor overlap, as a scheduled run would, so that the
            # incremental run's overlap does not reach back into the initial run's writes.
            wait = overlap_seconds(setup) + 1
            print(f"  waiting {wait:.0f} s (the cursor overlap) before the next run")
            time.sleep(wait)
            settle, settle_s = timed_run(
                "run re-reading the initial run's writes", project, env, proc.pid
            )
            show(settle, min_write_calls(setup, settle))
            state = pipeline.open_state(project, env)
            start = time.perf_counter()
            changed = change_one_percent(crm, url, state)
            state.close()
            print(f"  changed in the CRM: {changed} ({time.perf_counter() - start:.1f} s)")
            second, second_s = timed_run("incremental run", project, env, proc.pid)
            second_min = min_write_calls(setup, second)
            show(second, second_min)
        finally:
            parent.send("stop")
            proc.join(timeout=30)
    return {
        "crm": crm,
        "accounts": accounts,
        "initial_run_s": round(first_s, 1),
        "incremental_run_s": round(second_s, 1),
        "records_written": first.written,
        "write_calls": first.write_calls,
        "min_write_calls": first_min,
        "settle_run_s": round(settle_s, 1),
        "settle_records_written": settle.written,
        "incremental_records_written": second.written,
        "incremental_write_calls": second.write_calls,
        "incremental_min_write_calls": second_min,
        "cpu_probe_s": probe,
        "initial_api_calls": sum(first.api_calls.values()),
        "hubspot_floor_at_190_per_10s_s": (
            math.ceil(sum(first.api_calls.values()) / 19) if crm == "hubspot" else None
        ),
    }


def floor_seconds(api_calls: dict[str, int]) -> float:
    """The least time a run's calls take under 190 calls per 10 s and 5 searches per second
    (searches have their own bucket; 429 answers are not calls the run chose to make)."""
    searches = api_calls.get("search", 0)
    paced = sum(n for k, n in api_calls.items() if k not in ("search", "throttled_429"))
    return max(paced / 19, searches / 5)


def throttled(accounts: int, seed: int) -> dict[str, Any]:
    """HubSpot's initial run against a sandbox that enforces HubSpot Pro's rate limits."""
    from mappings.project import load_project
    from sync.pipeline import runner as pipeline

    print(f"== hubspot at 190 calls / 10 s: {accounts:,} accounts")
    with tempfile.TemporaryDirectory(prefix="bench-sync-throttled-") as tmp:
        folder = Path(tmp) / "project"
        parent, child = mp.get_context("fork").Pipe()
        proc = mp.get_context("fork").Process(
            target=serve,
            args=("hubspot", accounts, seed, str(folder), child, THROTTLED),
            daemon=True,
        )
        proc.start()
        try:
            _url, _seeded, _related = parent.recv()
            project, env = load_project(folder / "valuesync.yaml"), sandbox_env()
            pipeline.provision_fields(project, env=env)
            report, seconds = timed_run("initial run (throttled)", project, env, proc.pid)
            show(report, 0)
        finally:
            parent.send("stop")
            proc.join(timeout=30)
    floor = floor_seconds(report.api_calls)
    ratio = seconds / floor if floor else float("nan")
    print(f"    {seconds:.1f} s against a floor of {floor:.1f} s from its calls: {ratio:.2f}x")
    return {
        "throttled_accounts": accounts,
        "throttled_initial_run_s": round(seconds, 1),
        "throttled_api_calls": sum(report.api_calls.values()),
        "throttled_429": report.api_calls.get("throttled_429", 0),
        "throttled_floor_s": round(floor, 1),
        "throttled_vs_floor": round(ratio, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--crm", choices=("salesforce", "hubspot", "both"), default="both")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--throttled-accounts", type=int, default=10_000)
    args = parser.parse_args()
    crms = ("salesforce", "hubspot") if args.crm == "both" else (args.crm,)
    lines = [bench(crm, args.accounts, args.seed) for crm in crms]
    for line in lines:
        if line["crm"] == "hubspot" and args.throttled_accounts > 0:
            line.update(throttled(args.throttled_accounts, args.seed))
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
