"""The ops admin's path through the CLI, as a user runs it (the installed `valuesync` in a
subprocess) against a sandbox CRM started in the test process:

init -> check -> fields provision -> plan -> run -> status -> runs list/show -> rollback
-> schedule add/list/remove.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from test_cli_support import AS_OF, SECRETS, make_project, vs, vs_json

from connectors.sandbox.clients import salesforce_client
from connectors.sandbox.server import SandboxServer


@pytest.mark.slow  # ~25 CLI processes, each a fresh interpreter
def test_salesforce_admin_path_end_to_end(
    tmp_path: Path, make_sandbox: Callable[..., SandboxServer]
) -> None:
    project, server = make_project(tmp_path, make_sandbox, "salesforce")
    conn = "acme-sa"
    assert "export SALESFORCE_PASSWORD=" in vs("init", "x", cwd=tmp_path).stdout

    before = vs("check", "--as-of", AS_OF, cwd=project)  # the output fields do not exist yet
    assert before.returncode == 1 and "Value_Quadrant__c" in before.stdout
    assert "`valuesync fields provision` creates it" in " ".join(before.stdout.split())
    offline = vs_json("check", "--offline", "--as-of", AS_OF, cwd=project)
    assert offline == {"ok": True, "live": False, "problems": []}

    provisioned = vs_json("fields", "provision", cwd=project)
    created = {f for r in provisioned.values() for f in r["created"]}
    assert {"Value_Quadrant__c", "Deal_Priority__c"} <= created
    again = vs("fields", "provision", cwd=project)
    assert again.returncode == 0 and "done: 0 created, 0 updated" in again.stdout
    checked = vs("check", "--as-of", AS_OF, cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "all good" in checked.stdout

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
    log_text = Path(shown["log_file"]).read_text(encoding="utf-8")  # every run writes a log
    assert f"sync run {first['id']} of {conn} started" in log_text
    assert f"run {first['id']} finished" in log_text
    assert SECRETS["SALESFORCE_PASSWORD"] not in log_text
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
