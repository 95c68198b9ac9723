"""`valuesync alerts test`: one test message on every configured channel, now.

The result says per channel whether it arrived or what failed, so an ops admin can fix
the SMTP login or a webhook URL before the first real alert needs them. Test messages
are not recorded as notifications. CRM task channels are listed but create nothing: a
test task would land in a real person's task list (`valuesync check` tests the CRM).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from mappings.errors import ConfigError, ConfigProblem
from mappings.project import LoadedProject
from sync.alerts import messages
from sync.alerts.deliver import send_one, to_message

SKIPPED = "skipped: CRM tasks are only created for account owners (test the CRM with check)"


def send_test(
    project: LoadedProject, env: Mapping[str, str] | None = None
) -> dict[str, str | None]:
    """Channel name -> None (delivered), or what went wrong (or why it was skipped)."""
    config = project.project.alerts
    if config is None or not config.channels:
        raise ConfigError(
            [ConfigProblem(str(project.path), "alerts.channels", "no alert channel is configured")]
        )
    env = os.environ if env is None else env
    outcome: dict[str, str | None] = {}
    for name, channel in config.channels.items():
        if channel.kind == "crm_task":
            outcome[name] = SKIPPED
            continue
        message = to_message(messages.test_message(str(project.path), name))
        outcome[name] = send_one(config, name, message, env)
    return outcome
