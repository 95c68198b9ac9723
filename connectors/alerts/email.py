"""E-mail over SMTP (smtplib): implicit TLS, STARTTLS or plain, with optional login.

The message is multipart/alternative (plain text first, then HTML), with attachments
under multipart/mixed. Certificates are verified (the system CAs, or `ca_file`); the
password comes from the environment variable the channel names and is never logged.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from connectors.alerts.message import Message
from mappings.alerts import EmailChannel, secret
from mappings.errors import AuthError, ConnectorError, RetryableError

SYSTEM = "smtp"


def build_email(channel: EmailChannel, message: Message) -> EmailMessage:
    """The MIME message: text and HTML alternatives, then attachments."""
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = channel.sender
    mail["To"] = ", ".join(message.to or channel.to)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain="valuesync")
    mail["X-Valuesync-Severity"] = message.severity
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    for item in message.attachments:
        if not item.path.exists():
            continue
        maintype, _, subtype = item.content_type.partition("/")
        mail.add_attachment(
            item.path.read_bytes(), maintype=maintype, subtype=subtype, filename=item.path.name
        )
    return mail


def _context(channel: EmailChannel) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=channel.ca_file)


def send_email(channel: EmailChannel, message: Message, env: Mapping[str, str]) -> None:
    """Deliver `message` to the channel's recipients; ConnectorError when it cannot."""
    where = f"smtp {channel.host}:{channel.effective_port}"
    login = None
    if channel.username_env and channel.password_env:
        login = (
            secret(env, channel.username_env, "alerts.channels.username_env"),
            secret(env, channel.password_env, "alerts.channels.password_env"),
        )
    mail = build_email(channel, message)
    try:
        smtp: smtplib.SMTP
        if channel.security == "tls":
            smtp = smtplib.SMTP_SSL(
                channel.host,
                channel.effective_port,
                timeout=channel.timeout_seconds,
                context=_context(channel),
            )
        else:
            smtp = smtplib.SMTP(
                channel.host, channel.effective_port, timeout=channel.timeout_seconds
            )
        with smtp:
            if channel.security == "starttls":
                smtp.starttls(context=_context(channel))
            if login is not None:
                smtp.login(login[0].get_secret_value(), login[1].get_secret_value())
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthError(
            f"the SMTP server refused the login ({exc.smtp_code}); check {channel.username_env} "
            f"and {channel.password_env}",
            system=SYSTEM,
            operation=where,
        ) from exc
    except smtplib.SMTPResponseException as exc:
        kind = RetryableError if 400 <= exc.smtp_code < 500 else ConnectorError
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise kind(f"SMTP {exc.smtp_code}: {text[:200]}", system=SYSTEM, operation=where) from exc
    except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise RetryableError(
            f"cannot deliver: {type(exc).__name__}: {str(exc)[:200]}",
            system=SYSTEM,
            operation=where,
        ) from exc
