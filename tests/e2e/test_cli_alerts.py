"""`valuesync alerts test`, `valuesync status` and `valuesync alerts digest` through the CLI.

Scenario (issue 17): an unreachable SMTP server leaves the run successful, with the
delivery failure visible in `status`. The channels are real: an SMTP server with
STARTTLS + AUTH and an HTTP receiver on loopback (tests/integration/alerts/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from test_cli_support import AS_OF, ENV, make_project, vs, vs_json

from connectors.sandbox.server import SandboxServer
from tests.integration.alerts.conftest import (  # noqa: F401 (fixtures)
    SMTP_PASSWORD,
    SMTP_USER,
    WEBHOOK_SECRET,
    Receiver,
    Smtp,
    channels,
    free_port,
    receiver,
    smtp,
)


def _env(receiver: Receiver) -> dict[str, str]:  # noqa: F811
    return {
        **ENV,
        "SMTP_USER": SMTP_USER,
        "SMTP_PASSWORD": SMTP_PASSWORD,
        "SLACK_WEBHOOK_URL": receiver.url + "/slack",
        "ALERT_WEBHOOK_URL": receiver.url + "/hook",
        "ALERT_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


def _alerts(project: Path, alerts: dict[str, Any]) -> None:
    path = project / "valuesync.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["alerts"] = alerts
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_smtp_down_run_succeeds_and_status_shows_the_failure(
    tmp_path: Path,
    make_sandbox: Callable[..., SandboxServer],
    receiver: Receiver,  # noqa: F811
) -> None:
    project, _ = make_project(tmp_path, make_sandbox, "salesforce", accounts=30)
    env = _env(receiver)
    _alerts(
        project,
        {
            "channels": channels(None, smtp_port=free_port()),
            "triggers": [{"kind": "slow_run", "max_seconds": 0.001, "channels": ["mail", "hook"]}],
        },
    )
    assert vs("fields", "provision", cwd=project, env=env).returncode == 0
    ran = vs("run", "--as-of", AS_OF, "--json", cwd=project, env=env)
    assert ran.returncode == 0, ran.stderr
    assert yaml.safe_load(ran.stdout)["status"] == "succeeded"

    shown = vs("status", "--json", cwd=project, env=env)
    assert shown.returncode == 0, shown.stderr
    alerts = yaml.safe_load(shown.stdout)["connections"][0]["alerts"]
    assert [t["trigger"] for t in alerts["triggers"]] == ["slow_run"]
    assert alerts["triggers"][0]["status"] == "firing"
    assert alerts["triggers"][0]["last_alert"]["kind"] == "fired"
    failed = alerts["delivery_failures"]
    assert [(f["channel"], f["status"], f["attempts"]) for f in failed] == [("mail", "failed", 1)]
    assert "cannot deliver" in failed[0]["error"] and SMTP_PASSWORD not in shown.stdout
    text = vs("status", cwd=project, env=env).stdout
    assert "slow_run firing" in text and "delivery failed" in text and "mail" in text
    assert len(receiver.on("/hook")) == 1


def test_alerts_test_sends_on_every_channel(
    tmp_path: Path,
    make_sandbox: Callable[..., SandboxServer],
    smtp: Smtp,  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    project, _ = make_project(tmp_path, make_sandbox, "salesforce", accounts=30)
    _alerts(project, {"channels": channels(smtp), "triggers": []})
    done = vs("alerts", "test", "--json", cwd=project, env=_env(receiver))
    assert done.returncode == 0, done.stderr
    result = yaml.safe_load(done.stdout)["channels"]
    assert {n: r["ok"] for n, r in result.items()} == {
        "slack": True,
        "hook": True,
        "owners": False,
        "mail": True,
    }
    assert "skipped" in result["owners"]["error"]
    assert len(smtp.box.messages) == 1 and "test message" in smtp.box.messages[0]["Subject"]
    assert receiver.on("/hook")[0].signed() and len(receiver.on("/slack")) == 1

    _alerts(project, {"channels": channels(None, smtp_port=free_port()), "triggers": []})
    failed = vs("alerts", "test", cwd=project, env=_env(receiver))
    assert failed.returncode == 1
    assert "mail: failed" in failed.stdout and "hook: sent" in failed.stdout


def test_digest_command_with_nothing_to_digest(
    tmp_path: Path,
    make_sandbox: Callable[..., SandboxServer],
    receiver: Receiver,  # noqa: F811
) -> None:
    project, _ = make_project(tmp_path, make_sandbox, "salesforce", accounts=30)
    _alerts(project, {"channels": channels(None), "triggers": [], "digest": {"channels": ["hook"]}})
    env = _env(receiver)
    assert vs("fields", "provision", cwd=project, env=env).returncode == 0
    assert vs("run", "--as-of", AS_OF, cwd=project, env=env).returncode == 0
    doc = vs_json("alerts", "digest", cwd=project)
    assert doc["sent"] is False and doc["until_run"] is not None
    assert receiver.on("/hook") == []
