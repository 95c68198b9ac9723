"""One entry point for every channel kind but CRM tasks."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.alerts.email import send_email
from connectors.alerts.message import Message
from connectors.alerts.webhooks import send_slack, send_webhook
from mappings.alerts import CrmTaskChannel, EmailChannel, SlackChannel, WebhookChannel
from mappings.errors import ConfigError


def send(
    channel: EmailChannel | SlackChannel | WebhookChannel | CrmTaskChannel,
    message: Message,
    env: Mapping[str, str],
) -> None:
    """Deliver `message` on `channel`; ConnectorError (or ConfigError for a missing env var)."""
    if isinstance(channel, EmailChannel):
        send_email(channel, message, env)
    elif isinstance(channel, SlackChannel):
        send_slack(channel, message, env)
    elif isinstance(channel, WebhookChannel):
        send_webhook(channel, message, env)
    else:
        raise ConfigError("crm_task channels take tasks, not messages (connectors/base.py)")
