"""Alert fixtures: an in-process SMTP server (aiosmtpd, STARTTLS + AUTH), an HTTP receiver
for Slack and webhook posts, and a sandbox site whose project file has an `alerts:` section.

Everything runs on loopback; nothing in valuesync is mocked. The receiver checks each
webhook's HMAC signature itself, with the secret the test put in the environment.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage as Message
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.integration.pipeline.conftest import Site, make_site  # noqa: F401 (fixture)

SMTP_USER, SMTP_PASSWORD = "alerts@example.test", "smtp-pass-0000"
WEBHOOK_SECRET = "hook-secret-0000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received, parsed."""

    messages: list[Message] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    """Each message's envelope recipients (RCPT TO), in the order received."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.original_content, policy=default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@dataclass
class Smtp:
    host: str
    port: int
    ca_file: Path
    box: Mailbox


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[Smtp]:
    """SMTP on loopback: STARTTLS required (trustme CA) and AUTH LOGIN/PLAIN required."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = tmp_path / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    box = Mailbox()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        if ok:
            box.logins.append(data.login.decode())
        return AuthResult(success=ok)

    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    yield Smtp("127.0.0.1", port, ca_file, box)
    controller.stop()


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def signed(self, secret: str = WEBHOOK_SECRET) -> bool:
        """The HMAC signature checks out (X-Valuesync-Signature over 'timestamp.body')."""
        stamp = self.headers.get("X-Valuesync-Timestamp", "")
        mac = hmac.new(secret.encode(), stamp.encode() + b"." + self.body, hashlib.sha256)
        return hmac.compare_digest(
            self.headers.get("X-Valuesync-Signature", ""), "sha256=" + mac.hexdigest()
        )


@dataclass
class Receiver:
    url: str
    posts: list[Post] = field(default_factory=list)
    status: int = 200

    def on(self, path: str) -> list[Post]:
        return [p for p in self.posts if p.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server taking Slack (/slack) and webhook (/hook) posts; `status` to refuse."""
    rec = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if rec.status == 200:
                rec.posts.append(Post(self.path, dict(self.headers.items()), body))
            self.send_response(rec.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


def alert_env(site: Site, receiver: Receiver) -> dict[str, str]:
    return {
        **site.env,
        "SMTP_USER": SMTP_USER,
        "SMTP_PASSWORD": SMTP_PASSWORD,
        "SLACK_WEBHOOK_URL": receiver.url + "/slack",
        "ALERT_WEBHOOK_URL": receiver.url + "/hook",
        "ALERT_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


def channels(smtp: Smtp | None, *, smtp_port: int | None = None) -> dict[str, Any]:
    """mail (STARTTLS + login), slack, hook (HMAC), owners (CRM tasks)."""
    out: dict[str, Any] = {
        "slack": {"kind": "slack", "url_env": "SLACK_WEBHOOK_URL"},
        "hook": {
            "kind": "webhook",
            "url_env": "ALERT_WEBHOOK_URL",
            "secret_env": "ALERT_WEBHOOK_SECRET",
        },
        "owners": {"kind": "crm_task"},
    }
    if smtp is not None or smtp_port is not None:
        out["mail"] = {
            "kind": "email",
            "host": "127.0.0.1",
            "port": smtp_port if smtp_port is not None else smtp.port,  # type: ignore[union-attr]
            "security": "starttls",
            "username_env": "SMTP_USER",
            "password_env": "SMTP_PASSWORD",
            "sender": "valuesync@example.test",
            "to": ["ops@example.test"],
            "timeout_seconds": 5,
            "ca_file": str(smtp.ca_file) if smtp is not None else None,
        }
    return out


def add_alerts(site: Site, alerts: dict[str, Any]) -> None:
    """Put an `alerts:` section into the site's valuesync.yaml."""
    doc = yaml.safe_load(site.project_file.read_text())
    doc["alerts"] = alerts
    site.project_file.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture
def alert_site(
    make_site: Callable[..., Site],  # noqa: F811
    smtp: Smtp,
    receiver: Receiver,
) -> Callable[..., Site]:
    """Factory: a sandbox site (crm, accounts) with the given alerts triggers (+ digest)."""

    def factory(
        crm: str,
        triggers: list[dict[str, Any]],
        accounts: int = 120,
        digest: dict[str, Any] | None = None,
    ) -> Site:
        site = make_site(crm, accounts=accounts)
        alerts: dict[str, Any] = {"channels": channels(smtp), "triggers": triggers}
        if digest is not None:
            alerts["digest"] = digest
        add_alerts(site, alerts)
        site.env = alert_env(site, receiver)
        return site

    return factory
