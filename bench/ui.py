"""Benchmark of the ops admin console (`valuesync ui`) at 100,000 accounts.

Seeds N accounts (default 100,000) and their opportunities, tickets and invoices into a
sandbox CRM served by a separate process, provisions the output fields and runs the
pipeline once through the real client library, then serves the console with uvicorn on
127.0.0.1 and times each page: the time to the first byte of the response (http.client,
headers and first byte read), cold (the first request after start, before the last run's
scores are in memory) and warm (median and max of 5 requests). The live model preview
(a POST, an action rather than a page) is timed too.

Target: every page < 300 ms to first byte at 100,000 accounts. Ends with one JSON line.

Run: .venv/bin/python bench/ui.py [--accounts N] [--crm salesforce|hubspot]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.sandbox.faults import FaultProfile  # noqa: E402
from connectors.sandbox.site import sandbox_env  # noqa: E402

TARGET_MS = 300.0
WARM_REQUESTS = 5
UNLIMITED = FaultProfile(
    hs_ten_second_limit=1_000_000,
    hs_search_per_second=0,
    hs_daily_limit=100_000_000,
    sf_daily_limit=100_000_000,
)


def serve(crm: str, accounts: int, seed: int, folder: str, conn: Any) -> None:
    """Child process: seed the sandbox, serve it on loopback, write the project."""
    from connectors.sandbox.hubspot.schema import new_portal_store
    from connectors.sandbox.load import load_hubspot, load_salesforce
    from connectors.sandbox.salesforce.schema import new_org_store
    from connectors.sandbox.sampledata import generate
    from connectors.sandbox.server import SandboxServer
    from connectors.sandbox.site import sample_as_of, write_project
    from connectors.sandbox.store import Clock

    data = generate(accounts, seed, as_of=sample_as_of())
    sf = hs = None
    if crm == "salesforce":
        sf = new_org_store()
        load_salesforce(sf, data)
    else:
        hs = new_portal_store()
        load_hubspot(hs, data)
        hs.clock = Clock(resolution_ms=1)
    server = SandboxServer(sf_store=sf, hs_store=hs, profile=UNLIMITED).start()
    write_project(Path(folder), crm, server.url, data)
    conn.send(server.url)
    conn.recv()
    server.stop()


def unthrottled(project_file: Path, crm: str) -> None:
    import yaml

    doc = yaml.safe_load(project_file.read_text())
    for conn in doc["connections"].values():
        if crm == "hubspot":
            conn[crm]["rate_limits"] = {"ten_second_limit": 1_000_000, "search_per_second": 100_000}
    project_file.write_text(yaml.safe_dump(doc, sort_keys=False))


def ttfb(
    port: int,
    method: str,
    path: str,
    body: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[float, int, str]:
    """Milliseconds to the first byte of the response, its status and its text."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    data = urlencode(body).encode() if body is not None else None
    hdrs = dict(headers or {})
    if data is not None:
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    start = time.perf_counter()
    conn.request(method, path, body=data, headers=hdrs)
    response = conn.getresponse()
    first = response.read(1)
    elapsed = (time.perf_counter() - start) * 1000
    text = (first + response.read()).decode("utf-8", "replace")
    conn.close()
    return elapsed, response.status, text


def start_console(project_file: Path, env: dict[str, str]) -> tuple[Any, Any, int]:
    import uvicorn

    from sync.ui.app import build_app
    from sync.ui.context import Console

    console = Console(project_file, env=env)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(console), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return console, server, port


def pages(port: int, name: str, run_id: int) -> dict[str, str]:
    """The pages to time (path by label), found as a user would: by searching."""
    _, _, found = ttfb(port, "GET", f"/explain/{name}?q=alpha")
    account = re.search(rf'href="/explain/{name}/([^"]+)"', found)
    return {
        "connections": "/connections",
        "connection": f"/connections/{name}",
        "runs": f"/runs/{name}",
        "run_detail": f"/runs/{name}/{run_id}",
        "run_detail_page_1000": f"/runs/{name}/{run_id}?page=1000",
        "explain_search": f"/explain/{name}?q=alpha",
        "explain_search_broad": f"/explain/{name}?q=gmbh",
        "explain_account": f"/explain/{name}/{quote(account.group(1)) if account else 'x'}",
        "mapping": f"/mapping/{name}",
        "model": f"/model/{name}",
        "report": f"/report/{name}",
    }


def measure(port: int, paths: dict[str, str]) -> dict[str, dict[str, float]]:
    out = {}
    for label, path in paths.items():
        times = []
        for _ in range(WARM_REQUESTS):
            ms, status, _ = ttfb(port, "GET", path)
            assert status == 200, (label, status)
            times.append(ms)
        out[label] = {
            "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1),
        }
        print(
            f"  {label:24} median {out[label]['median_ms']:7.1f} ms   "
            f"max {out[label]['max_ms']:7.1f} ms"
        )
    return out


def preview_ms(port: int, name: str) -> float:
    _, _, page = ttfb(port, "GET", f"/model/{name}")
    cookie = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    body = {"value.criteria.0.weight": "60", "csrf_token": cookie}
    ms, status, text = ttfb(
        port, "POST", f"/model/{name}/preview", body, {"Cookie": f"vs_csrf={cookie}"}
    )
    assert status == 200 and "data-moved" in text, text[:500]
    return round(ms, 1)


def bench(crm: str, accounts: int, seed: int) -> dict[str, Any]:
    from mappings.project import load_project
    from sync.pipeline import runner as pipeline

    print(f"== console, {crm}: {accounts:,} accounts")
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        folder = Path(tmp) / "project"
        parent, child = mp.get_context("fork").Pipe()
        args = (crm, accounts, seed, str(folder), child)
        proc = mp.get_context("fork").Process(target=serve, args=args, daemon=True)
        proc.start()
        try:
            parent.recv()
            unthrottled(folder / "valuesync.yaml", crm)
            project, env = load_project(folder / "valuesync.yaml"), sandbox_env()
            name = next(iter(project.project.connections))
            pipeline.provision_fields(project, env=env)
            start = time.perf_counter()
            report = pipeline.run(project, env=env)
            print(
                f"  pipeline run {report.run_id}: {time.perf_counter() - start:.1f} s, "
                f"{report.written:,} records written"
            )
            console, server, port = start_console(folder / "valuesync.yaml", env)
            cold = {}
            for label, path in (
                ("explain_search", f"/explain/{name}?q=alpha"),
                ("model", f"/model/{name}"),
            ):
                cold[label] = round(ttfb(port, "GET", path)[0], 1)
            print(f"  cold (first request, the last run's scores loaded): {cold}")
            warm = measure(port, pages(port, name, int(report.run_id or 0)))
            preview = preview_ms(port, name)
            print(f"  model preview (POST, scores every account again): {preview:.1f} ms")
            server.should_exit = True
            console.close()
        finally:
            parent.send("stop")
            proc.join(timeout=30)
    worst = max(v["max_ms"] for v in warm.values())
    return {
        "bench": "ui",
        "crm": crm,
        "accounts": accounts,
        "pages": warm,
        "cold_ms": cold,
        "model_preview_ms": preview,
        "worst_page_max_ms": worst,
        "target_ms": TARGET_MS,
        "all_pages_under_target": worst < TARGET_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--crm", choices=("salesforce", "hubspot"), default="salesforce")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    line = bench(args.crm, args.accounts, args.seed)
    print(json.dumps(line))


if __name__ == "__main__":
    main()
