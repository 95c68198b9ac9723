"""Slack incoming webhooks and generic JSON webhooks signed with HMAC-SHA256.

Webhook signature (verify it on the receiving side):

    X-Valuesync-Timestamp: <unix seconds>
    X-Valuesync-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

The timestamp is inside the signed bytes, so a captured request cannot be replayed
later with a new timestamp. Webhook URLs and the secret come from environment variables;
error messages never include the URL (a Slack URL is a credential).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import requests

from connectors.alerts.message import Message
from mappings.alerts import SlackChannel, WebhookChannel, secret
from mappings.errors import ConnectorError, RetryableError

TIMESTAMP_HEADER = "X-Valuesync-Timestamp"
SEVERITY_EMOJI = {
    "critical": ":rotating_light:",
    "warning": ":warning:",
    "info": ":information_source:",
}


def signature(secret_value: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp`."""
    mac = hmac.new(secret_value, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def slack_body(message: Message) -> dict[str, Any]:
    """Slack's incoming-webhook JSON: `text` (the fallback) and a section block."""
    lead = f"{SEVERITY_EMOJI.get(message.severity, '')} *{message.subject}*".strip()
    section = {"type": "mrkdwn", "text": f"{lead}\n{message.text}"[:2900]}
    return {
        "text": f"{message.subject}\n{message.text}",
        "blocks": [{"type": "section", "text": section}],
    }


def _post(system: str, url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    try:
        response = requests.post(url, data=body, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise RetryableError(
            f"cannot reach the webhook: {type(exc).__name__}", system=system, operation="post"
        ) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableError(
            "the webhook is unavailable",
            system=system,
            operation="post",
            status=response.status_code,
        )
    if response.status_code >= 300:
        raise ConnectorError(
            f"the webhook refused the message: {response.text[:200]}",
            system=system,
            operation="post",
            status=response.status_code,
        )


def send_slack(channel: SlackChannel, message: Message, env: Mapping[str, str]) -> None:
    """Post to a Slack incoming webhook."""
    url = secret(env, channel.url_env, "alerts.channels.url_env").get_secret_value()
    body = json.dumps(slack_body(message)).encode()
    _post("slack", url, body, {"Content-Type": "application/json"}, channel.timeout_seconds)


def send_webhook(
    channel: WebhookChannel, message: Message, env: Mapping[str, str], now: float | None = None
) -> None:
    """POST the message as JSON with an HMAC signature header."""
    url = secret(env, channel.url_env, "alerts.channels.url_env").get_secret_value()
    key = secret(env, channel.secret_env, "alerts.channels.secret_env").get_secret_value()
    doc = {
        "subject": message.subject,
        "severity": message.severity,
        "text": message.text,
        "html": message.html,
        **message.payload,
    }
    body = json.dumps(doc, default=str, sort_keys=True).encode()
    stamp = str(int(now if now is not None else time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        channel.signature_header: signature(key.encode(), stamp, body),
    }
    _post("webhook", url, body, headers, channel.timeout_seconds)
