"""Send the notifications that are due, record each outcome, never raise.

A channel that is down never fails a run: its delivery is marked failed with the error
(no secret: channel errors never carry URLs or passwords) and is tried again on the next
run, until `max_attempts` is reached. Each delivery is claimed first (compare-and-set on
its attempt count), so two workers never send the same one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connectors.alerts import Attachment, Message, send
from mappings.alerts import AlertsConfig
from mappings.errors import ValuesyncError
from sync.state.alerts import AlertStore, Delivery

log = logging.getLogger(__name__)


def to_message(stored: Mapping[str, Any]) -> Message:
    """A stored event body as a Message."""
    return Message(
        subject=str(stored["subject"]),
        text=str(stored["text"]),
        html=str(stored["html"]),
        severity=str(stored.get("severity", "info")),
        payload=dict(stored.get("payload") or {}),
        attachments=tuple(Attachment(Path(p)) for p in stored.get("attachments") or ()),
        to=tuple(stored.get("to") or ()),
    )


def send_one(
    config: AlertsConfig, channel: str, message: Message, env: Mapping[str, str]
) -> str | None:
    """Deliver on one channel; the error text when it failed, else None."""
    spec = config.channels.get(channel)
    if spec is None:
        return f"channel '{channel}' is no longer configured"
    try:
        send(spec, message, env)
    except ValuesyncError as exc:
        return str(exc)
    except Exception as exc:  # a channel must never break the run
        log.exception("alert channel %s failed unexpectedly", channel)
        return f"unexpected {type(exc).__name__}"
    return None


def deliver_due(
    store: AlertStore, config: AlertsConfig, connection: str, env: Mapping[str, str]
) -> dict[str, int]:
    """Send every due delivery of a connection; counts of sent / failed."""
    counts = {"sent": 0, "failed": 0}
    for d in store.due(connection, config.max_attempts):
        if not store.claim_delivery(d):
            continue  # another worker took it
        error = send_one(config, d.channel, to_message(d.body), env)
        _finish(store, config, d, error)
        counts["sent" if error is None else "failed"] += 1
    return counts


def _finish(store: AlertStore, config: AlertsConfig, d: Delivery, error: str | None) -> None:
    give_up = error is not None and d.attempts + 1 >= config.max_attempts
    if error is not None:
        log.warning(
            "alert %s on %s failed (attempt %d): %s", d.event_id, d.channel, d.attempts + 1, error
        )
    store.finish_delivery(d, error, give_up=give_up)
