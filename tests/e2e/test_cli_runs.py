"""Runs through the CLI against sandbox CRMs: HubSpot, rejected records (exit 1), two runs
of one connection at once (exit 4 for the second), and what `init` writes."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_cli_support import AS_OF, ENV, SECRETS, VALUESYNC, make_project, vs, vs_json

from connectors.sandbox.clients import salesforce_client
from connectors.sandbox.server import SandboxServer


def test_hubspot_run_and_a_salesforce_rejection(
    tmp_path: Path, make_sandbox: Callable[..., SandboxServer]
) -> None:
    project, _ = make_project(tmp_path / "hs", make_sandbox, "hubspot", accounts=30)
    assert vs("fields", "provision", cwd=project).returncode == 0
    ran = vs_json("run", "--as-of", AS_OF, cwd=project)
    assert ran["crm"] == "hubspot" and ran["status"] == "succeeded" and ran["written"] > 0

    project, server = make_project(tmp_path / "sf", make_sandbox, "salesforce", accounts=30)
    assert vs("fields", "provision", cwd=project).returncode == 0
    ids = sorted(salesforce_client(server.url).query("SELECT Id FROM Account")["records"],
                 key=lambda r: r["Id"])[:2]  # fmt: skip
    rejected_ids = {r["Id"] for r in ids}
    server.faults.configure(reject_ids=frozenset(rejected_ids))
    done = vs("run", "--as-of", AS_OF, cwd=project)
    assert done.returncode == 1, done.stderr
    assert "Rejected records" in done.stdout and "succeeded_with_rejections" in done.stdout
    run_id = vs_json("runs", "list", cwd=project)[0]["id"]
    shown = vs_json("runs", "show", str(run_id), cwd=project)
    assert {r["record_id"] for r in shown["rejected_by_crm"]} == rejected_ids
    assert all(r["code"] and r["message"] for r in shown["rejected_by_crm"])


def test_second_concurrent_run_exits_4_with_a_clear_message(
    tmp_path: Path, make_sandbox: Callable[..., SandboxServer]
) -> None:
    project, server = make_project(tmp_path, make_sandbox, "salesforce", accounts=30)
    assert vs("fields", "provision", cwd=project).returncode == 0
    first_request, release = threading.Event(), threading.Event()

    def hold_first_query(method: str, path: str) -> None:
        # The first run's first query waits here (holding the connection's lock) until
        # the second run has given up; every other request passes straight through.
        if "/query" in path and not first_request.is_set():
            first_request.set()
            release.wait(60)

    server.faults.observers.append(hold_first_query)
    args = [VALUESYNC, "run", "--as-of", AS_OF]
    winner = subprocess.Popen(args, cwd=project, env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert first_request.wait(60), "the first run never queried the CRM"
        started = time.monotonic()
        loser = vs("run", "--as-of", AS_OF, cwd=project)
    finally:
        release.set()
        out, err = winner.communicate(timeout=120)
    assert loser.returncode == 4, loser.stderr
    message = " ".join(loser.stderr.split())
    assert "another valuesync run is already working on connection 'acme-sa'" in message
    assert "Traceback" not in loser.stderr and time.monotonic() - started < 30
    assert winner.returncode == 0, err


@pytest.mark.parametrize(
    ("crm", "url_key"),
    [("salesforce", "login_url"), ("hubspot", "base_url")],
    ids=["salesforce points login at the sandbox", "hubspot base url"],
)
def test_init_writes_env_names_never_secrets(tmp_path: Path, crm: str, url_key: str) -> None:
    done = vs("init", "p", "--crm", crm, "--instance-url", "http://127.0.0.1:1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "p" / "valuesync.yaml").read_text()
    assert f"{url_key}: http://127.0.0.1:1" in text
    assert not any(v in text for v in SECRETS.values())
    assert sorted(p.name for p in (tmp_path / "p" / "mappings").iterdir()) == sorted(
        [f"{crm}.yaml", "finance.yaml", "value_model.yaml"]
    )
    again = vs("init", "p", "--crm", crm, cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    assert vs("init", "p", "--crm", crm, "--force", cwd=tmp_path).returncode == 0
