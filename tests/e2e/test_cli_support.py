"""Helpers of the CLI end-to-end tests (no tests here): run the installed `valuesync` in a
subprocess, and a project made by `valuesync init --instance-url` against a sandbox CRM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

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
RATES = {"USD": 0.92, "GBP": 1.17}
FAST_HUBSPOT = {"ten_second_limit": 1000, "search_per_second": 100}


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
    tmp_path.mkdir(parents=True, exist_ok=True)
    done = vs("init", "proj", "--crm", crm, "--name", f"acme-{crm[:2]}",
              "--instance-url", server.url, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    project = tmp_path / "proj"
    write_files(data, project / "mappings")  # finance paths resolve against finance.yaml
    # The admin's edits: exchange rates for the CRM's USD/GBP invoices; sandbox-fast limits.
    model_file = project / "mappings" / "value_model.yaml"
    model = yaml.safe_load(model_file.read_text())
    model_file.write_text(yaml.safe_dump({**model, "rates": RATES}, sort_keys=False))
    if crm == "hubspot":
        project_file = project / "valuesync.yaml"
        doc = yaml.safe_load(project_file.read_text())
        doc["connections"]["acme-hu"]["hubspot"]["rate_limits"] = FAST_HUBSPOT
        project_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    return project, server
