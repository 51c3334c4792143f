"""Email transports: SMTP through aiosmtplib, and ``log`` for development and tests.

A transport takes an ``OutgoingEmail`` and answers a ``SendResult`` instead of
raising, so a campaign records the server's answer per recipient: 4xx is transient
(retry later), 5xx permanent (the address is bad).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import getaddresses, make_msgid
from functools import lru_cache

import aiosmtplib
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import (
    COMMAND_INJECTION_REGEX,
    MAX_RESPONSE_LENGTH,
    PERIOD_REGEX,
    SMTPProtocol,
    normalize_message_line_endings,
)
from aiosmtplib.response import SMTPResponse
from aiosmtplib.typing import SMTPStatus

from messaging.config import MessagingConfig, SmtpConfig
from messaging.dkim_signing import DkimSigner
from messaging.mime import address_header, date_header, header, is_bare_address, render_mime
from messaging.outcome import SendResult

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


@lru_cache(maxsize=64)
def mail_domain(mail_from: str) -> str:
    addresses = getaddresses([mail_from])
    address = addresses[0][1] if addresses else ""
    return address.rpartition("@")[2] or "localhost"


def render_email(
    email: OutgoingEmail, *, mail_from: str, reply_to: str | None, at: datetime | None = None
) -> tuple[bytes, str]:
    """The message as bytes (CRLF) and its Message-ID: multipart/alternative (text,
    HTML), wrapped in multipart/mixed with attachments."""
    message_id = email.message_id or make_msgid(domain=mail_domain(mail_from))
    lines = [address_header("From", mail_from), address_header("To", email.to)]
    if reply_to:
        lines.append(address_header("Reply-To", reply_to))
    lines += [
        header("Subject", email.subject),
        date_header(at or datetime.now(UTC)),
        header("Message-ID", message_id),
    ]
    lines += [header(name, value) for name, value in email.headers.items()]
    raw = render_mime(
        lines,
        text=email.text,
        html=email.html,
        attachments=[(a.filename, a.content, a.mime_type) for a in email.attachments],
    )
    return raw, message_id


def build_message(
    email: OutgoingEmail, *, mail_from: str, reply_to: str | None, at: datetime | None = None
) -> EmailMessage:
    """The same message parsed back (the log transport keeps these for reading)."""
    raw, _message_id = render_email(email, mail_from=mail_from, reply_to=reply_to, at=at)
    return message_from_bytes(raw, policy=default_policy)


def envelope_sender(mail_from: str) -> str:
    addresses = getaddresses([mail_from])
    return addresses[0][1] if addresses else mail_from


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
        self.signer = DkimSigner(config.dkim) if config.dkim else None
        self._sender = envelope_sender(config.mail_from)
        self._mail_from = b"FROM:" + quote_address(self._sender).encode("ascii")

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
        if client.is_ehlo_or_helo_needed:
            try:  # the MAIL command is sent as is: greet first (sendmail would)
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
        if smtp.username:
            await client.login(smtp.username, smtp.password or "")
        return client

    async def send(self, email: OutgoingEmail) -> SendResult:
        raw, message_id = render_email(
            email, mail_from=self.config.mail_from, reply_to=self.config.reply_to
        )
        if self.signer is not None:
            raw = self.signer.sign(raw)
        async with self._slots:
            client = self._idle.get_nowait() if not self._idle.empty() else None
            try:
                if client is None or not client.is_connected:
                    client = await self._connect()
                answer = await self._transaction(client, email.to, raw)
            except aiosmtplib.SMTPRecipientRefused as exc:
                self._keep(client)
                # Refused at RCPT for good: the address is bad, not just this message.
                bad = exc.code >= 500
                detail = f"{exc.code} {exc.message}"
                return SendResult(False, message_id, detail, permanent=bad, bad_address=bad)
            except aiosmtplib.SMTPResponseException as exc:
                self._keep(client)
                detail = f"{exc.code} {exc.message}"
                return SendResult(False, message_id, detail, permanent=exc.code >= 500)
            except ValueError as exc:  # an address no SMTP command line can carry
                self._keep(client)
                detail = f"invalid address: {exc}"
                return SendResult(False, message_id, detail, permanent=True, bad_address=True)
            except (aiosmtplib.SMTPException, OSError) as exc:
                # The connection broke: drop it; the message may be retried.
                await self._drop(client)
                return SendResult(False, message_id, f"connection: {exc}")
            self._keep(client)
        return SendResult(True, message_id, answer)

    async def _transaction(self, client: aiosmtplib.SMTP, to: str, raw: bytes) -> str:
        """MAIL, RCPT, DATA and the message for one recipient: what ``sendmail`` does,
        without parsing the firm's own address again for every message (``sendmail``
        parses each address twice, and measures the message's size with a regex over
        it; ``raw`` already has CRLF line ends). The answer to the message; on a
        refusal the envelope is reset for the connection's next message and the
        refusal raised (``SMTPSenderRefused``, ``SMTPRecipientRefused``,
        ``SMTPDataError``, whichever command was refused first).

        A server advertising PIPELINING (RFC 2920) gets MAIL, RCPT and DATA in one
        write and the message in a second: two round trips a message instead of four."""
        size = [f"SIZE={len(raw)}".encode()] if client.supports_extension("size") else []
        # ValueError before any command; a plain address as it is, without the parse
        quoted = f"<{to}>" if is_bare_address(to) else quote_address(to)
        rcpt = b"TO:" + quoted.encode("ascii")
        if COMMAND_INJECTION_REGEX.search(rcpt):  # what execute_command would refuse
            raise ValueError("the address holds a control character")
        try:
            if client.supports_extension("pipelining") and _Pipeline.usable(client):
                return await self._pipelined(client, rcpt, size, raw)
            answer = await client.execute_command(b"MAIL", self._mail_from, *size)
            if answer.code != SMTPStatus.completed:
                raise aiosmtplib.SMTPSenderRefused(answer.code, answer.message, self._sender)
            answer = await client.execute_command(b"RCPT", rcpt)
            if answer.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
                raise aiosmtplib.SMTPRecipientRefused(answer.code, answer.message, to)
            return (await client.data(raw)).message
        except aiosmtplib.SMTPResponseException:
            with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
                await client.rset()
            raise

    async def _pipelined(
        self, client: aiosmtplib.SMTP, rcpt: bytes, size: list[bytes], raw: bytes
    ) -> str:
        """The transaction as two groups (RFC 2920): MAIL, RCPT, DATA written at once
        and their three answers read in order, every one of them (a refused RCPT
        leaves the DATA answer to consume: 503 or 554, or 354 from a server that
        accepted DATA anyway, which then gets a lone "." ending an empty message that
        has no recipient); then the message and its answer."""
        protocol = client.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("Server not connected")
        mail = b" ".join((b"MAIL", self._mail_from, *size))
        timeout = client.timeout
        try:  # one timeout a group, where aiosmtplib sets one an answer
            async with asyncio.timeout(timeout) as deadline:
                with _Pipeline(client) as replies:
                    protocol.write(b"%s\r\nRCPT %s\r\nDATA\r\n" % (mail, rcpt))
                    sender = await replies.read()
                    recipient = await replies.read()
                    data = await replies.read()
                    accepted = sender.code == SMTPStatus.completed and recipient.code in _RCPT_OK
                    if data.code == SMTPStatus.start_input and not accepted:
                        protocol.write(b".\r\n")
                        await replies.read()
                    if sender.code != SMTPStatus.completed:
                        raise aiosmtplib.SMTPSenderRefused(
                            sender.code, sender.message, self._sender
                        )
                    if recipient.code not in _RCPT_OK:
                        to = rcpt[3:].decode("ascii").strip("<>")
                        raise aiosmtplib.SMTPRecipientRefused(recipient.code, recipient.message, to)
                    if data.code != SMTPStatus.start_input:
                        raise aiosmtplib.SMTPDataError(data.code, data.message)
                    if timeout is not None:
                        deadline.reschedule(asyncio.get_running_loop().time() + timeout)
                    protocol.write(_data_bytes(raw))
                    answer = await replies.read()
                    if answer.code != SMTPStatus.completed:
                        raise aiosmtplib.SMTPDataError(answer.code, answer.message)
        except TimeoutError as exc:
            raise aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response") from exc
        return answer.message

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


def _data_bytes(raw: bytes) -> bytes:
    """The message as aiosmtplib's own DATA sends it: line ends normalised to CRLF,
    leading dots doubled, then the "." line. A rendered message has CRLF throughout
    and seldom a leading dot: counted first (in C), the regular expressions are run
    only when there is something to change."""
    crlf = raw.count(b"\r\n")
    if raw.count(b"\n") != crlf or raw.count(b"\r") != crlf or not raw.endswith(b"\r\n"):
        raw = normalize_message_line_endings(raw)
    if raw.startswith(b".") or b"\n." in raw:
        raw = PERIOD_REGEX.sub(b"..", raw)
    return raw + b".\r\n"


class _Pipeline:
    """Reads the answers to commands written together (RFC 2920) through aiosmtplib's
    own protocol, which expects one answer per write: an answer arriving while the
    one before it waits to be picked up is dropped, and a second answer that came in
    the same segment as the first stays in the buffer until more data arrives. While
    a group's answers are due, whatever arrives is kept in the protocol's buffer and
    the answers parsed from there, in order, by aiosmtplib's own parser.

    It takes over the protocol's ``data_received`` for the group (the asyncio
    transports look the method up on every call), and so is used only on asyncio's
    own event loop and with the protocol internals it knows."""

    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client
        self.protocol = client.protocol
        self.stock = self.protocol.data_received
        self.closing: SMTPResponse | None = None

    @staticmethod
    def usable(client: aiosmtplib.SMTP) -> bool:
        protocol = client.protocol
        return (
            isinstance(protocol, SMTPProtocol)
            and isinstance(asyncio.get_running_loop(), asyncio.BaseEventLoop)
            and all(hasattr(protocol, name) for name in _PROTOCOL_INTERNALS)
        )

    def __enter__(self) -> _Pipeline:
        self.protocol.data_received = self._data_received  # type: ignore[method-assign]
        self.protocol._response_pending = True  # answers are due from the first write on
        return self

    def __exit__(self, kind, exc, traceback) -> None:
        protocol = self.protocol
        with contextlib.suppress(AttributeError):
            del protocol.data_received  # the class's own again
        if kind is None or issubclass(kind, aiosmtplib.SMTPResponseException):
            # Every answer was read (a refusal is raised after the last one): anything
            # left in the buffer was not asked for.
            del protocol._buffer[:]
        else:
            # Broken, timed out or cancelled with answers still due: they would be
            # paired with the next commands, so the connection is of no further use.
            self.client.close()

    def _data_received(self, data: bytes) -> None:
        protocol = self.protocol
        waiter = protocol._response_waiter
        if waiter is None:  # the connection is gone
            return
        if protocol._response_pending and not waiter.done():
            self.stock(data)  # aiosmtplib parses the next answer into its waiter
            return
        # An answer waits to be picked up (or has just been): keep what follows it.
        protocol._buffer.extend(data)
        if len(protocol._buffer) > 4 * MAX_RESPONSE_LENGTH and protocol.transport is not None:
            protocol.transport.close()  # a server flooding us: the reads fail

    async def read(self) -> SMTPResponse:
        """The next answer of the group, in the order the commands were written."""
        if self.closing is not None:
            return self.closing
        protocol = self.protocol
        waiter = protocol._response_waiter
        if waiter is not None and not waiter.done() and protocol._buffer:
            try:
                response = protocol._read_response_from_buffer()
            except aiosmtplib.SMTPResponseException as exc:
                raise aiosmtplib.SMTPServerDisconnected(f"malformed answer: {exc}") from exc
            if response is None:
                response = await self._wait()
        else:
            response = await self._wait()
        if response.code == SMTPStatus.domain_unavailable:
            # 421: the server is closing the connection and answers nothing more; as
            # aiosmtplib does, close it too. The commands after it count as refused
            # with the same answer.
            self.closing = response
            self.client.close()
        return response

    async def _wait(self) -> SMTPResponse:
        try:
            return await self.protocol.read_response(timeout=None)  # the group's
        except aiosmtplib.SMTPServerDisconnected:
            raise
        except aiosmtplib.SMTPResponseException as exc:  # malformed: out of step for good
            raise aiosmtplib.SMTPServerDisconnected(f"malformed answer: {exc}") from exc


_RCPT_OK = (SMTPStatus.completed, SMTPStatus.will_forward)
_PROTOCOL_INTERNALS = (
    "_buffer",
    "_response_waiter",
    "_response_pending",
    "_read_response_from_buffer",
    "read_response",
    "write",
)


EmailTransport = LogTransport | SmtpTransport


def create_email_transport(config: MessagingConfig) -> EmailTransport:
    """SMTP when a host is configured, else the log transport."""
    return SmtpTransport(config) if config.smtp else LogTransport(config)


__all__ = ["Attachment", "DkimSigner", "EmailTransport", "OutgoingEmail", "SendResult"]
