"""A notification as every channel receives it: subject, plain text, HTML, a JSON payload."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail (e.g. the report PNG)."""

    path: Path
    content_type: str = "image/png"


@dataclass(frozen=True)
class Message:
    """One notification; `text` and `html` say the same, `payload` is for machines."""

    subject: str
    text: str
    html: str
    severity: str = "info"
    payload: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    to: tuple[str, ...] = ()
    """E-mail recipients instead of the channel's `to` (a digest for one account manager)."""
