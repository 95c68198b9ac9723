"""Run triggers end to end: real runs against the sandbox CRM, real SMTP and HTTP on loopback.

Scenario (issue 17): a failing run alerts once over three failing runs and sends one
recovery notice; an unreachable SMTP server leaves the run successful with the delivery
failure recorded (and retried on the next run).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mappings.errors import AuthError
from sync.state.alerts import AlertStore
from tests.integration.alerts.conftest import (
    Receiver,
    Smtp,
    add_alerts,
    alert_env,
    channels,
    free_port,
)
from tests.integration.pipeline.conftest import CRMS, Site

FAILED = {"kind": "run_failed", "channels": ["mail", "slack", "hook"]}


def _broken_env(site: Site) -> dict[str, str]:
    if site.crm == "salesforce":
        return {**site.env, "SALESFORCE_PASSWORD": "wrong-password"}
    return {**site.env, "HUBSPOT_ACCESS_TOKEN": "pat-wrong-0000"}


@pytest.mark.parametrize("crm", CRMS)
def test_failing_run_alerts_once_over_three_failures_and_recovers_once(
    crm: str, alert_site: Callable[..., Site], smtp: Smtp, receiver: Receiver
) -> None:
    site = alert_site(crm, [FAILED])
    good = site.env
    site.env = _broken_env(site)
    for _ in range(3):
        with pytest.raises(AuthError):
            site.run()
    assert len(smtp.box.messages) == 1
    first = smtp.box.messages[0]
    assert "CRITICAL: run_failed" in first["Subject"]
    assert smtp.box.logins == ["alerts@example.test"]  # STARTTLS + AUTH were used
    parts = {p.get_content_type(): p.get_content() for p in first.walk() if not p.is_multipart()}
    assert "the run failed" in parts["text/plain"]
    assert "the run failed" in parts["text/html"] and "<html>" in parts["text/html"]
    hooks = receiver.on("/hook")
    assert len(hooks) == 1 and hooks[0].signed()
    assert hooks[0].json()["event"] == "fired"
    assert len(receiver.on("/slack")) == 1
    assert "run_failed" in receiver.on("/slack")[0].json()["text"]

    site.env = good
    report = site.run()
    assert report.status == "succeeded"
    site.run()  # still fine: nothing more to say
    assert len(smtp.box.messages) == 2
    assert "recovered: run_failed" in smtp.box.messages[1]["Subject"]
    hooks = receiver.on("/hook")
    assert [h.json()["event"] for h in hooks] == ["fired", "recovered"]
    assert all(h.signed() for h in hooks)
    assert not hooks[1].signed("another-secret")  # the signature does depend on the secret
    assert len(receiver.on("/slack")) == 2


def test_unreachable_smtp_leaves_the_run_successful_and_is_retried(
    make_site: Callable[..., Site], smtp: Smtp, receiver: Receiver
) -> None:
    site = make_site("salesforce", accounts=120)
    dead_port = free_port()  # nothing listens here
    add_alerts(
        site,
        {
            "channels": channels(None, smtp_port=dead_port),
            "triggers": [{"kind": "slow_run", "max_seconds": 0.001, "channels": ["mail", "hook"]}],
        },
    )
    site.env = alert_env(site, receiver)
    report = site.run()
    assert report.status == "succeeded"
    state = site.state()
    try:
        events = AlertStore(state).events("sb")
    finally:
        state.close()
    assert len(events) == 1
    by_channel = {d["channel"]: d for d in events[0]["deliveries"]}
    assert by_channel["hook"]["status"] == "sent"
    assert by_channel["mail"]["status"] == "failed"
    assert "cannot deliver" in by_channel["mail"]["error"]
    assert by_channel["mail"]["attempts"] == 1
    assert len(receiver.on("/hook")) == 1

    # The SMTP server is back: the next run retries the failed delivery (and only that).
    add_alerts(
        site,
        {
            "channels": channels(smtp),
            "triggers": [{"kind": "slow_run", "max_seconds": 0.001, "channels": ["mail", "hook"]}],
        },
    )
    assert site.run().status == "succeeded"
    assert len(smtp.box.messages) == 1
    assert "slow_run" in smtp.box.messages[0]["Subject"]
    assert len(receiver.on("/hook")) == 1
