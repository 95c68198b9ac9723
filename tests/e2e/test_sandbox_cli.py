"""`valuesync sandbox serve` (and bad options of `demo`), run as a user runs them (a subprocess).

The demo itself is tested in test_demo.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from connectors.sandbox.clients import hubspot_client, salesforce_client

VALUESYNC = str(Path(sys.executable).parent / "valuesync")
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VALUESYNC, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("sandbox", "serve", "--faults", "nosuch"), "none, flaky, limits, hostile"),
        (("sandbox", "serve", "--crm", "pipedrive"), "salesforce, hubspot, both"),
        (("demo", "--crm", "pipedrive"), "salesforce, hubspot, both"),
    ],
    ids=["unknown fault profile", "unknown crm for serve", "unknown crm for demo"],
)
def test_bad_options_are_config_errors(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert needle in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            requests.get(f"{url}/crm/v3/objects/companies", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    pytest.fail(f"sandbox did not answer on {url}")


def test_serve_answers_the_real_clients_until_terminated(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["sandbox", "serve", "--port", str(port), "--accounts", "150", "--data-dir", "files"]
    proc = subprocess.Popen(
        [VALUESYNC, *args], cwd=tmp_path, env=ENV, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_until_up(url, proc)
        count = salesforce_client(url).query("SELECT COUNT() FROM Account")["totalSize"]
        page = hubspot_client(url).crm.companies.basic_api.get_page(limit=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert (count, len(page.results)) == (150, 10)
    assert proc.returncode == 0, err
    assert url in out and "admin@sandbox.valuesync.test" in out and "pat-sandbox-0000" in out
    assert "RewritingSession" in out and "host=" in out
    assert (tmp_path / "files" / "finance.csv").stat().st_size > 0
