"""Notification channels: e-mail over SMTP, Slack incoming webhooks, signed JSON webhooks.

`send(channel, message, env)` delivers one `Message` on one configured channel and raises
a ConnectorError (RetryableError for network trouble) when it cannot; the orchestrator
(sync/alerts/) records the failure and retries on the next run. CRM tasks go through
the CRM connectors (`create_tasks`), not through here.
"""

from connectors.alerts.message import Attachment, Message
from connectors.alerts.send import send

__all__ = ["Attachment", "Message", "send"]
