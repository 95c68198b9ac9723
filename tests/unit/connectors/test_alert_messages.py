"""Messages as every channel sends them: plain text and HTML alike, values escaped, signed."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pandas as pd

from connectors.alerts.email import build_email
from connectors.alerts.webhooks import signature, slack_body
from mappings.alerts import EmailChannel
from sync.alerts import messages
from sync.alerts.deliver import to_message
from value_engine.alerts import Finding

CHANNEL = EmailChannel(
    kind="email",
    host="smtp.example.test",
    sender="vs@example.test",
    to=["a@example.test", "b@example.test"],
)


def test_email_has_text_and_html_alternatives_and_the_attachment(tmp_path: Path) -> None:
    png = tmp_path / "matrix.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nrest")
    doc = messages.body("S", "plain words", "<p>html words</p>", "warning", {}, [str(png)])
    mail = build_email(CHANNEL, to_message(doc))
    assert mail["To"] == "a@example.test, b@example.test"
    assert mail["X-Valuesync-Severity"] == "warning"
    kinds = [p.get_content_type() for p in mail.walk()]
    assert kinds == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "image/png",
    ]
    attachment = next(p for p in mail.walk() if p.get_content_type() == "image/png")
    assert attachment.get_filename() == "matrix.png"
    assert attachment.get_content() == png.read_bytes()


def test_account_names_are_escaped_in_html_and_kept_in_text() -> None:
    moved = pd.DataFrame(
        {
            "account_id": ["001"],
            "name": ["<script>Acme & Co</script>"],
            "from_quadrant": ["Core"],
            "to_quadrant": ["Develop"],
            "clv": [1234.5],
            "account_action": ["Invest"],
            "reason": ["pays late"],
        }
    )
    doc = messages.migrations("acme", "core-lost", "critical", "005U", moved, 7)
    assert "<script>Acme & Co</script>" in doc["text"]
    assert "<script>" not in doc["html"] and "&lt;script&gt;Acme &amp; Co" in doc["html"]
    assert "1,234.50" in doc["text"] and "pays late" in doc["html"]
    assert doc["payload"]["accounts"] == [{"account_id": "001", "from": "Core", "to": "Develop"}]


def test_status_change_and_recovery_read_the_same_in_text_and_html() -> None:
    finding = Finding("run_failed", "run_failed", "critical", True, "the run failed: boom")
    fired = messages.status_change("p/valuesync.yaml", "acme", finding, False, 3)
    cleared = messages.status_change("p/valuesync.yaml", "acme", finding, True, 4)
    assert fired["subject"] == "[valuesync acme] CRITICAL: run_failed"
    assert cleared["subject"] == "[valuesync acme] recovered: run_failed"
    for doc in (fired, cleared):
        for line in doc["text"].splitlines():
            if line.strip():
                assert messages.escape(line) in doc["html"]
    assert slack_body(to_message(fired))["text"].startswith(fired["subject"])
    assert slack_body(to_message(fired))["blocks"][0]["text"]["text"].startswith(
        ":rotating_light: *[valuesync acme] CRITICAL"
    )


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    expected = hmac.new(b"k", b"170.{}", hashlib.sha256).hexdigest()
    assert signature(b"k", "170", b"{}") == "sha256=" + expected
    assert signature(b"k", "171", b"{}") != signature(b"k", "170", b"{}")
