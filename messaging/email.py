"""Email transports: SMTP through aiosmtplib, and ``log`` for development and tests.

A transport takes an ``OutgoingEmail`` and answers a ``SendResult`` instead of
raising, so a campaign records the server's answer per recipient: 4xx is transient
(retry later), 5xx permanent (the address is bad).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

import aiosmtplib

from messaging.config import MessagingConfig, SmtpConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str | None = None
    # Set by campaigns (derived from campaign and recipient) so a re-send has the same id.
    message_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class SendResult:
    ok: bool
    message_id: str
    detail: str = ""
    permanent: bool = False  # a failure that retrying will not fix


def mail_domain(mail_from: str) -> str:
    addresses = getaddresses([mail_from])
    address = addresses[0][1] if addresses else ""
    return address.rpartition("@")[2] or "localhost"


def build_message(
    email: OutgoingEmail, *, mail_from: str, reply_to: str | None, at: datetime | None = None
) -> EmailMessage:
    """multipart/alternative (text, HTML), wrapped in multipart/mixed with attachments."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = email.to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(at or datetime.now(UTC))
    message["Message-ID"] = email.message_id or make_msgid(domain=mail_domain(mail_from))
    for name, value in email.headers.items():
        message[name] = value
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    for item in email.attachments:
        main, _, sub = item.mime_type.partition("/")
        message.add_attachment(item.content, maintype=main, subtype=sub, filename=item.filename)
    return message


class LogTransport:
    """Writes messages to the log and keeps them in ``sent`` (development, tests)."""

    def __init__(self, config: MessagingConfig) -> None:
        self.config = config
        self.sent: list[EmailMessage] = []

    async def send(self, email: OutgoingEmail) -> SendResult:
        message = build_message(
            email, mail_from=self.config.mail_from, reply_to=self.config.reply_to
        )
        self.sent.append(message)
        log.info("email (log transport) to %s: %s", email.to, email.subject)
        return SendResult(True, message["Message-ID"], "logged")

    async def close(self) -> None:
        return None


class SmtpTransport:
    """Sends through a small pool of reused SMTP connections (many messages each)."""

    def __init__(self, config: MessagingConfig) -> None:
        assert config.smtp is not None
        self.config = config
        self.smtp: SmtpConfig = config.smtp
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        self._slots = asyncio.Semaphore(self.smtp.pool_size)

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = self.smtp
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            timeout=smtp.timeout,
            use_tls=smtp.security == "tls",
            start_tls=smtp.security == "starttls",
        )
        await client.connect()
        if smtp.username:
            await client.login(smtp.username, smtp.password or "")
        return client

    async def send(self, email: OutgoingEmail) -> SendResult:
        message = build_message(
            email, mail_from=self.config.mail_from, reply_to=self.config.reply_to
        )
        message_id = message["Message-ID"]
        async with self._slots:
            client = self._idle.get_nowait() if not self._idle.empty() else None
            try:
                if client is None or not client.is_connected:
                    client = await self._connect()
                errors, answer = await client.send_message(message)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                self._keep(client)
                refused = exc.recipients[0] if exc.recipients else None
                code = refused.code if refused else 550
                return SendResult(False, message_id, str(exc), permanent=code >= 500)
            except aiosmtplib.SMTPResponseException as exc:
                self._keep(client)
                detail = f"{exc.code} {exc.message}"
                return SendResult(False, message_id, detail, permanent=exc.code >= 500)
            except (aiosmtplib.SMTPException, OSError) as exc:
                # The connection broke: drop it; the message may be retried.
                await self._drop(client)
                return SendResult(False, message_id, f"connection: {exc}")
            self._keep(client)
        if errors:
            address, (code, text) = next(iter(errors.items()))
            return SendResult(False, message_id, f"{address}: {code} {text}", permanent=code >= 500)
        return SendResult(True, message_id, answer)

    def _keep(self, client: aiosmtplib.SMTP | None) -> None:
        if client is not None and client.is_connected:
            self._idle.put_nowait(client)

    async def _drop(self, client: aiosmtplib.SMTP | None) -> None:
        if client is not None:
            try:
                client.close()
            except Exception:  # a broken connection may not close cleanly
                log.debug("closing a broken SMTP connection failed", exc_info=True)

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


EmailTransport = LogTransport | SmtpTransport


def create_email_transport(config: MessagingConfig) -> EmailTransport:
    """SMTP when a host is configured, else the log transport."""
    return SmtpTransport(config) if config.smtp else LogTransport(config)


__all__ = ["Attachment", "EmailTransport", "OutgoingEmail", "SendResult"]
