"""The ops admin's path through the CLI, as a user runs it (the installed `valuesync` in a
subprocess) against a sandbox CRM started in the test process:

init -> check -> fields provision -> plan -> run -> status -> runs list/show -> rollback
-> schedule add/list/remove; and two `valuesync run` at once on one connection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox.clients import salesforce_client
from connectors.sandbox.load import build_sandbox
from connectors.sandbox.salesforce.org import Credentials
from connectors.sandbox.sampledata import write_files
from connectors.sandbox.server import SandboxServer

VALUESYNC = str(Path(sys.executable).parent / "valuesync")
AS_OF = "2026-07-01"  # the sample data ends 2026-06-30; the engine's as_of is exclusive
_C = Credentials()
SECRETS = {
    "SALESFORCE_USERNAME": _C.username,
    "SALESFORCE_PASSWORD": _C.password,
    "SALESFORCE_SECURITY_TOKEN": _C.security_token,
    "SALESFORCE_CONSUMER_KEY": _C.consumer_key,
    "SALESFORCE_CONSUMER_SECRET": _C.consumer_secret,
    "HUBSPOT_ACCESS_TOKEN": "pat-sandbox-0000",
}
ENV = {**os.environ, **SECRETS, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
ENV.pop("VALUESYNC_LOG_LEVEL", None)


def vs(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VALUESYNC, *args], cwd=cwd, env=env or ENV, capture_output=True, text=True, timeout=180
    )


def vs_json(*args: str, cwd: Path, code: int = 0) -> Any:
    done = vs(*args, "--json", cwd=cwd)
    assert done.returncode == code, f"{args}: exit {done.returncode}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


def make_project(
    tmp_path: Path, make_sandbox: Callable[..., SandboxServer], crm: str, accounts: int = 60
) -> tuple[Path, SandboxServer]:
    """`valuesync init --instance-url <sandbox>`, with the sample finance export in place."""
    sf_store, hs_store, data = build_sandbox(accounts, seed=11, crm=crm)
    server = make_sandbox(sf_store=sf_store, hs_store=hs_store)
    done = vs("init", "proj", "--crm", crm, "--name", f"acme-{crm[:2]}",
              "--instance-url", server.url, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    project = tmp_path / "proj"
    write_files(data, project / "mappings")  # finance paths resolve against finance.yaml
    return project, server


def test_salesforce_admin_path_end_to_end(
    tmp_path: Path, make_sandbox: Callable[..., SandboxServer]
) -> None:
    project, server = make_project(tmp_path, make_sandbox, "salesforce")
    conn = "acme-sa"
    assert "export SALESFORCE_PASSWORD=" in vs("init", "x", cwd=tmp_path).stdout

    checked = vs("check", cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "all good" in checked.stdout
    assert vs_json("check", "--offline", cwd=project) == {"ok": True, "live": False, "problems": []}

    provisioned = vs_json("fields", "provision", cwd=project)
    created = {f for r in provisioned.values() for f in r["created"]}
    assert {"Value_Quadrant__c", "Deal_Priority__c"} <= created
    again = vs("fields", "provision", cwd=project)
    assert again.returncode == 0 and "unchanged" in again.stdout and "created" not in again.stdout

    plan = vs("plan", "--as-of", AS_OF, "--sample", "5", cwd=project)
    assert plan.returncode == 0, plan.stderr
    assert "Quadrant moves" in plan.stdout and "nothing was written" in plan.stdout
    planned = vs_json("plan", "--as-of", AS_OF, cwd=project)
    assert planned["status"] == "planned" and planned["written"] == 0
    to_change = planned["objects"]["accounts"]["records_changed"]
    assert to_change > 0

    ran = vs("run", "--as-of", AS_OF, cwd=project)
    assert ran.returncode == 0, ran.stderr
    assert "Per object" in ran.stdout and "API calls" in ran.stdout
    assert "Seconds per phase" in ran.stdout
    first = vs_json("runs", "list", cwd=project)[0]
    assert (first["connection"], first["status"]) == (conn, "succeeded")

    second = vs_json("run", "--as-of", AS_OF, cwd=project)
    assert second["status"] == "succeeded"
    assert second["written"] == 0  # nothing changed since: nothing is written again

    status = vs_json("status", cwd=project)["connections"][0]
    assert status["last_run"]["id"] == second["run_id"] and status["lock"] is None
    assert status["next_run"] is None
    shown = vs_json("runs", "show", str(first["id"]), cwd=project)
    assert shown["id"] == first["id"] and shown["api_calls"]
    assert shown["changes_by_status"].get("written", 0) > 0
    assert shown["rejected_by_crm"] == [] and shown["quarantined_finance_rows"] >= 0
    listed = vs("runs", "list", "--limit", "1", cwd=project)
    assert listed.returncode == 0 and str(second["run_id"]) in listed.stdout

    # Someone edits one account's quadrant in the CRM; rollback must leave it alone.
    sf = salesforce_client(server.url)
    edited = sf.query(
        "SELECT Id FROM Account WHERE Value_Quadrant__c != null "
        "AND Value_Quadrant__c != 'Core' LIMIT 1"
    )
    edited_id = edited["records"][0]["Id"]
    sf.Account.update(edited_id, {"Value_Quadrant__c": "Core"})
    refused = vs("rollback", str(first["id"]), cwd=project)  # no tty: the prompt aborts
    assert refused.returncode != 0 and "Restore" in refused.stdout
    rolled = vs_json("rollback", str(first["id"]), "--yes", cwd=project)
    assert rolled["restored"] > 0
    assert edited_id in {s["record_id"] for s in rolled["skipped"]}
    remaining = sf.query("SELECT COUNT() FROM Account WHERE Value_Quadrant__c != null")
    assert remaining["totalSize"] == 1  # only the hand-edited one keeps a quadrant

    added = vs_json("schedule", "add", "--connection", conn, "--cron", "0 2 * * *", cwd=project)
    assert added["connection"] == conn and added["trigger"] == "cron 0 2 * * *"
    listed_jobs = vs_json("schedule", "list", cwd=project)
    assert [j["id"] for j in listed_jobs] == [added["id"]]
    assert vs_json("status", cwd=project)["connections"][0]["next_run"] == added["next_run"]
    assert vs_json("schedule", "remove", added["id"], cwd=project)["removed"]["id"] == added["id"]
    assert vs_json("schedule", "list", cwd=project) == []


def test_hubspot_run_reports_rejections_with_exit_1(
    tmp_path: Path, make_sandbox: Callable[..., SandboxServer]
) -> None:
    project, server = make_project(tmp_path, make_sandbox, "hubspot", accounts=40)
    assert vs("fields", "provision", cwd=project).returncode == 0
    ids = sorted(server.hs_store.table("companies").records)[:2]  # type: ignore[union-attr]
    server.faults.configure(reject_ids=frozenset(ids))
    ran = vs("run", "--as-of", AS_OF, cwd=project)
    assert ran.returncode == 1, ran.stderr
    assert "Rejected records" in ran.stdout
    run_id = vs_json("runs", "list", cwd=project)[0]["id"]
    shown = vs_json("runs", "show", str(run_id), cwd=project)
    assert {r["record_id"] for r in shown["rejected_by_crm"]} == set(ids)
    assert all(r["message"] for r in shown["rejected_by_crm"])


def test_second_concurrent_run_exits_4_with_a_clear_message(
    tmp_path: Path, make_sandbox: Callable[..., SandboxServer]
) -> None:
    project, server = make_project(tmp_path, make_sandbox, "salesforce", accounts=30)
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
