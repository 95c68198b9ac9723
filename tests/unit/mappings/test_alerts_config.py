"""The `alerts:` section: validated like the rest of the project file, secrets by env name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mappings.alerts import AlertsConfig, EmailChannel
from mappings.errors import ConfigError
from mappings.project import load_project

CHANNELS: dict[str, Any] = {
    "mail": {
        "kind": "email",
        "host": "smtp.example.com",
        "security": "tls",
        "username_env": "SMTP_USER",
        "password_env": "SMTP_PASSWORD",
        "sender": "vs@example.com",
        "to": ["ops@example.com"],
    },
    "slack": {"kind": "slack", "url_env": "SLACK_WEBHOOK_URL"},
    "hook": {"kind": "webhook", "url_env": "HOOK_URL", "secret_env": "HOOK_SECRET"},
    "owners": {"kind": "crm_task", "connections": ["acme-sf"]},
}
TRIGGERS: list[dict[str, Any]] = [
    {"kind": "run_failed"},
    {"kind": "rejected_share", "threshold": 0.05, "channels": ["mail"]},
    {"kind": "record_count", "object": "accounts", "window": 3, "deviation": 0.3},
    {"kind": "slow_run", "max_seconds": 600, "severity": "info"},
    {"kind": "finance_stale", "max_age_days": 40},
    {
        "kind": "quadrant_migration",
        "from": ["Core"],
        "to": ["Fix or Reprice"],
        "min_clv": 1e4,
        "owners": ["005A"],
        "channels": ["owners", "slack"],
    },
]


def write(tmp_path: Path, alerts: dict[str, Any]) -> Path:
    doc = {
        "version": 1,
        "connections": {
            "acme-sf": {
                "crm": "salesforce",
                "salesforce": {"kind": "password"},
                "mapping": "m.yaml",
                "value_model": "v.yaml",
            }
        },
        "alerts": alerts,
    }
    path = tmp_path / "valuesync.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_a_full_alerts_section_loads(tmp_path: Path) -> None:
    alerts = load_project(
        write(tmp_path, {"channels": CHANNELS, "triggers": TRIGGERS, "digest": {}})
    ).project.alerts
    assert alerts is not None
    assert [t.key for t in alerts.triggers] == [t["kind"] for t in TRIGGERS]
    assert alerts.triggers[0].severity == "critical"  # run_failed's default
    mail = alerts.channels["mail"]
    assert isinstance(mail, EmailChannel) and mail.effective_port == 465
    assert alerts.digest is not None and alerts.digest.schedule == "0 7 1 * *"  # monthly
    # default channels: everything but CRM tasks; CRM tasks only where switched on
    assert alerts.channels_for(None) == ["mail", "slack", "hook"]
    assert alerts.channels_for(["owners", "slack"]) == ["slack"]
    assert len(alerts.crm_channels(["owners"], "acme-sf")) == 1
    assert alerts.crm_channels(["owners"], "acme-hs") == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"channels": {**CHANNELS, "slack": {"kind": "slack", "url_env": "https://hooks.x/T0"}}},
            "not an environment variable name",
        ),
        (
            {"channels": {**CHANNELS, "mail": {**CHANNELS["mail"], "password": "hunter2"}}},
            "password",
        ),
        (
            {"channels": {**CHANNELS, "mail": {**CHANNELS["mail"], "username_env": None}}},
            "both username_env and password_env",
        ),
        ({"triggers": [{"kind": "run_failed", "channels": ["pager"]}]}, "unknown channel(s) pager"),
        (
            {
                "triggers": [
                    {"kind": "slow_run", "max_seconds": 1},
                    {"kind": "slow_run", "max_seconds": 2},
                ]
            },
            "trigger names must be unique",
        ),
        ({"triggers": [{"kind": "rejected_share", "threshold": 5}]}, "threshold"),
        ({"triggers": [{"kind": "on_fire"}]}, "on_fire"),
        ({"digest": {"schedule": "monthly"}}, "5-field cron"),
        ({"digest": {"per_owner": {"channel": "slack"}}}, "is a slack channel; name an email"),
        ({"digest": {"per_owner": {"channel": "post"}}}, "unknown channel(s) post"),
        ({"digest": {"per_owner": {"channel": "mail", "addresses": "ldap"}}}, "addresses"),
    ],
    ids=[
        "url-in-yaml",
        "password-in-yaml",
        "half-login",
        "unknown-channel",
        "duplicate-trigger",
        "share-over-1",
        "unknown-kind",
        "bad-cron",
        "per-owner-not-email",
        "per-owner-unknown",
        "per-owner-bad-source",
    ],
)
def test_mistakes_are_config_errors_naming_the_file(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    alerts = {"channels": CHANNELS, "triggers": TRIGGERS, **change}
    with pytest.raises(ConfigError) as err:
        load_project(write(tmp_path, alerts))
    assert message in str(err.value)
    assert "valuesync.yaml" in str(err.value)


def test_no_alerts_section_means_no_alerts(tmp_path: Path) -> None:
    path = write(tmp_path, {})
    doc = yaml.safe_load(path.read_text())
    del doc["alerts"]
    path.write_text(yaml.safe_dump(doc))
    assert load_project(path).project.alerts is None
    assert AlertsConfig().channels_for(None) == []
