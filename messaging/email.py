"""Email transports: SMTP through aiosmtplib, and ``log`` for development and tests.

A transport takes an ``OutgoingEmail`` and answers a ``SendResult`` instead of
raising, so a campaign records the server's answer per recipient: 4xx is transient
(retry later), 5xx permanent (the address is bad).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import ssl
import time
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


@dataclass(eq=False)
class _Job:
    """One message waiting for a connection: its recipient (``TO:<…>``), its bytes,
    and the future its sender waits on (the server's answer, or what went wrong)."""

    to: str
    rcpt: bytes
    raw: bytes
    answer: asyncio.Future[str]
    again: bool = False  # queued again once after its connection broke


class SmtpTransport:
    """Sends through a small pool of reused SMTP connections (many messages each).

    Each connection is served by its own task (a lane) taking the messages queued by
    ``send`` in turn. To a server advertising PIPELINING (RFC 2920) a lane writes the
    next message's MAIL, RCPT and DATA together with the current message's content:
    one write and one round trip a message while messages keep coming."""

    def __init__(self, config: MessagingConfig) -> None:
        assert config.smtp is not None
        self.config = config
        self.smtp: SmtpConfig = config.smtp
        self.signer = DkimSigner(config.dkim) if config.dkim else None
        self._sender = envelope_sender(config.mail_from)
        self._mail_from = b"FROM:" + quote_address(self._sender).encode("ascii")
        self._jobs: collections.deque[_Job] = collections.deque()
        self._lanes: set[asyncio.Task] = set()
        self._resting: list[asyncio.Future[None]] = []  # lanes waiting for a message
        self._clients: set[aiosmtplib.SMTP] = set()  # the lanes' connections
        self._connecting = 0  # lanes opening a connection
        self._refused_at = -GROW_PAUSE  # when a new connection last failed
        # Verified always: against FIRMA_SMTP_CA_FILE's authorities, else the system's.
        self._tls = ssl.create_default_context(cafile=self.smtp.ca_file)

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = self.smtp
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            timeout=smtp.timeout,
            use_tls=smtp.security == "tls",
            start_tls=smtp.security == "starttls",
            tls_context=self._tls if smtp.security != "none" else None,
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
        try:
            job = _Job(email.to, _rcpt(email.to), raw, asyncio.get_running_loop().create_future())
            self._jobs.append(job)
            self._call_lane()
            answer = await job.answer
        except _Unavailable as exc:
            return exc.result(message_id)
        except aiosmtplib.SMTPRecipientRefused as exc:
            # Refused at RCPT for good: the address is bad, not just this message.
            bad = exc.code >= 500
            detail = f"{exc.code} {exc.message}"
            return SendResult(False, message_id, detail, permanent=bad, bad_address=bad)
        except aiosmtplib.SMTPResponseException as exc:
            detail = f"{exc.code} {exc.message}"
            return SendResult(False, message_id, detail, permanent=exc.code >= 500)
        except ValueError as exc:  # an address no SMTP command line can carry
            detail = f"invalid address: {exc}"
            return SendResult(False, message_id, detail, permanent=True, bad_address=True)
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The connection broke (the lane dropped it); the message may be retried.
            return SendResult(False, message_id, f"connection: {exc}")
        return SendResult(True, message_id, answer)

    # ---------------------------------------------------------------- lanes

    def _call_lane(self) -> None:
        """A resting lane takes the message just queued (the one that rested last: its
        connection is the warmest); else a new lane while the pool has room; else a
        busy lane takes it when it is done with its own."""
        while self._resting:
            waker = self._resting.pop()
            if not waker.done():
                waker.set_result(None)
                return
        growing = time.monotonic() - self._refused_at >= GROW_PAUSE or not (
            self._live() or self._connecting
        )
        if len(self._lanes) < self.smtp.pool_size and growing:
            lane = asyncio.get_running_loop().create_task(self._lane())
            self._lanes.add(lane)
            lane.add_done_callback(self._lanes.discard)

    def _next_job(self) -> _Job | None:
        while self._jobs:
            job = self._jobs.popleft()
            if not job.answer.done():  # its sender may have been cancelled meanwhile
                return job
        return None

    async def _wait_for_job(self) -> _Job:
        while (job := self._next_job()) is None:
            waker = asyncio.get_running_loop().create_future()
            self._resting.append(waker)
            try:
                await waker
            finally:
                if waker in self._resting:
                    self._resting.remove(waker)
        return job

    async def _lane(self) -> None:
        """One connection: connects when it has a message, reconnects after a break,
        sends every message it takes; quits when the transport closes."""
        client: aiosmtplib.SMTP | None = None
        job: _Job | None = None
        try:
            while True:
                job = await self._wait_for_job()
                if client is None or not client.is_connected:
                    if client is not None:
                        self._clients.discard(client)
                    self._connecting += 1
                    try:
                        client = await self._connect()
                    except (aiosmtplib.SMTPException, OSError) as exc:
                        client = None
                        self._refused_at = time.monotonic()
                        if self._live() or self._connecting > 1:
                            # The server takes fewer connections than the pool has
                            # (421 to the extra one): the others carry the message,
                            # and the pool does not grow again for a while.
                            self._jobs.appendleft(job)  # it never left: no attempt spent
                            self._call_lane()
                            job = None
                            return
                        _settle(job, _Unavailable(exc))
                        continue
                    finally:
                        self._connecting -= 1
                    self._clients.add(client)
                try:
                    if client.supports_extension("pipelining") and _Pipeline.usable(client):
                        await self._pipelined(client, job)
                    else:
                        _settle(job, answer=await self._transaction(client, job.rcpt, job.raw))
                except (aiosmtplib.SMTPException, OSError) as exc:
                    if not isinstance(exc, aiosmtplib.SMTPResponseException):
                        _close(client)  # broken: the next message reconnects
                    _settle(job, exc)
                except Exception as exc:  # a surprise: its sender gets it, the lane goes on
                    log.exception("sending through SMTP failed")
                    _close(client)
                    _settle(job, exc)
                job = None
        finally:
            if job is not None:
                _settle(job, aiosmtplib.SMTPServerDisconnected("the transport was closed"))
            if client is not None:
                self._clients.discard(client)
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    _close(client)

    async def _transaction(self, client: aiosmtplib.SMTP, rcpt: bytes, raw: bytes) -> str:
        """MAIL, RCPT, DATA and the message for one recipient, one command at a time
        (a server without PIPELINING): what ``sendmail`` does, without parsing the
        firm's own address again for every message (``sendmail`` parses each address
        twice, and measures the message's size with a regex over it; ``raw`` already
        has CRLF line ends). The answer to the message; on a refusal the envelope is
        reset for the connection's next message and the refusal raised."""
        try:
            answer = await client.execute_command(b"MAIL", self._mail_from, *_size(client, raw))
            if answer.code != SMTPStatus.completed:
                raise aiosmtplib.SMTPSenderRefused(answer.code, answer.message, self._sender)
            answer = await client.execute_command(b"RCPT", rcpt)
            if answer.code not in _RCPT_OK:
                raise aiosmtplib.SMTPRecipientRefused(answer.code, answer.message, _to(rcpt))
            return (await client.data(raw)).message
        except aiosmtplib.SMTPResponseException:
            with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
                await client.rset()
            raise

    def _envelope(self, client: aiosmtplib.SMTP, job: _Job) -> bytes:
        mail = b" ".join((b"MAIL", self._mail_from, *_size(client, job.raw)))
        return b"%s\r\nRCPT %s\r\nDATA\r\n" % (mail, job.rcpt)

    async def _pipelined(self, client: aiosmtplib.SMTP, job: _Job) -> None:
        """``job`` and every message queued meanwhile, on one connection (RFC 2920).
        The envelope (MAIL, RCPT, DATA) goes in one write, and each message's content
        in one write with the next message's envelope: the server answers both in one
        segment. Every answer is read, in order: a refused RCPT leaves the DATA answer
        to consume (503 or 554, or 354 from a server that accepted DATA anyway, which
        gets a lone "." ending an empty message without a recipient), then RSET goes
        with the next envelope. Returns when no message waits or the connection broke:
        then the message whose content was written gets the error (it may have been
        delivered: the campaign retries it, with its Message-ID), and the next one,
        whose content never left, is queued again once."""
        protocol = client.protocol
        if protocol is None:
            _settle(job, aiosmtplib.SMTPServerDisconnected("Server not connected"))
            return
        timeout = client.timeout
        loop = asyncio.get_running_loop()
        current: _Job | None = job  # its envelope's answers are due
        sending: _Job | None = None  # its content was written, its answer is due
        try:
            async with asyncio.timeout(timeout) as deadline:
                with _Pipeline(client) as replies:
                    protocol.write(self._envelope(client, current))
                    reset = False
                    while current is not None:
                        if reset:  # the RSET written before this envelope
                            await replies.read()
                        sender = await replies.read()
                        recipient = await replies.read()
                        data = await replies.read()
                        accepted = (
                            sender.code == SMTPStatus.completed and recipient.code in _RCPT_OK
                        )
                        if data.code == SMTPStatus.start_input and not accepted:
                            protocol.write(b".\r\n")
                            await replies.read()
                        refusal = _refusal(sender, recipient, data, self._sender, current.rcpt)
                        following = self._next_job() if replies.closing is None else None
                        if refusal is not None:
                            _settle(current, refusal)
                            current, reset = following, True
                            if current is None:  # nothing waits: reset now
                                protocol.write(b"RSET\r\n")
                                await replies.read()
                                break
                            protocol.write(b"RSET\r\n" + self._envelope(client, current))
                        else:
                            sending, current, reset = current, following, False
                            content = _data_bytes(sending.raw)
                            if current is not None:
                                content += self._envelope(client, current)
                            protocol.write(content)
                            answer = await replies.read()
                            if answer.code == SMTPStatus.completed:
                                _settle(sending, answer=answer.message)
                            else:
                                _settle(
                                    sending, aiosmtplib.SMTPDataError(answer.code, answer.message)
                                )
                            sending = None
                        if replies.closing is not None and current is not None:
                            self._again(current)  # 421: on a new connection
                            current = None
                        if timeout is not None:
                            deadline.reschedule(loop.time() + timeout)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            if not isinstance(exc, aiosmtplib.SMTPException):  # asyncio's own timeout
                exc = aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response")
            _close(client)
            if sending is not None:
                _settle(sending, exc)
            if current is not None:
                self._again(current, exc)
            sending = current = None
        except BaseException as exc:  # cancelled (the transport closing), or a surprise
            _close(client)
            if not isinstance(exc, Exception):
                exc = aiosmtplib.SMTPServerDisconnected("the transport was closed")
            for left in (sending, current):  # no sender waits for ever
                if left is not None:
                    _settle(left, exc)
            raise

    def _live(self) -> bool:
        """Whether some lane holds an open connection."""
        return any(client.is_connected for client in self._clients)

    def _again(self, job: _Job, exc: Exception | None = None) -> None:
        """A message whose content never left goes first in the queue once more (its
        connection broke or closed before it); the second time, it fails with ``exc``."""
        if job.again and exc is not None:
            _settle(job, exc)
            return
        job.again = True
        self._jobs.appendleft(job)
        self._call_lane()

    async def close(self) -> None:
        """Quits every connection; a message still queued fails (not sent)."""
        lanes = list(self._lanes)
        for lane in lanes:
            lane.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)
        while self._jobs:
            _settle(self._jobs.popleft(), aiosmtplib.SMTPServerDisconnected("transport closed"))


GROW_PAUSE = 5.0  # seconds the pool stays smaller after a new connection failed


class _Unavailable(Exception):
    """The message never left: connecting, the greeting, TLS or the login failed.

    What needs a person (a refused login, a certificate that does not verify, a
    server without the STARTTLS it was set up for, a 5xx greeting) is *fatal*: the
    campaign pauses with the reason and the row waits. What may pass by itself (no
    answer, a refused or dropped connection, a 4xx greeting such as "421 too many
    connections") is an *outage*: the row waits, its attempt given back."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause

    @property
    def fatal(self) -> bool:
        cause = self.cause
        if _certificate_error(cause):
            return True
        if isinstance(cause, aiosmtplib.SMTPResponseException):
            return cause.code >= 500  # 535 a refused login; 454 a login to try again
        network = (
            aiosmtplib.SMTPConnectError,
            aiosmtplib.SMTPTimeoutError,
            aiosmtplib.SMTPServerDisconnected,
            OSError,
        )
        return not isinstance(cause, network)  # e.g. "STARTTLS extension not supported"

    def result(self, message_id: str) -> SendResult:
        cause = self.cause
        if isinstance(cause, aiosmtplib.SMTPResponseException):
            detail = f"SMTP server: {cause.code} {cause.message}"
        elif _certificate_error(cause):
            detail = f"SMTP server's certificate: {_certificate_error(cause)}"
        else:
            detail = f"SMTP server unavailable: {cause}"
        if self.fatal:
            return SendResult(False, message_id, detail[:2000], permanent=True, fatal=True)
        return SendResult(False, message_id, detail[:2000], outage=True)


def _certificate_error(exc: BaseException | None) -> str | None:
    """Why the server's certificate was refused, found along the exception's causes."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return exc.verify_message or str(exc)
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _settle(job: _Job, exc: BaseException | None = None, *, answer: str = "") -> None:
    if job.answer.done():  # its sender was cancelled
        return
    if exc is not None:
        job.answer.set_exception(exc)
    else:
        job.answer.set_result(answer)


def _close(client: aiosmtplib.SMTP) -> None:
    try:
        client.close()
    except Exception:  # a broken connection may not close cleanly
        log.debug("closing a broken SMTP connection failed", exc_info=True)


def _rcpt(to: str) -> bytes:
    """``TO:<address>`` for RCPT; ValueError for an address no command line can carry
    (raised before any command). A plain address as it is, without the parse."""
    quoted = f"<{to}>" if is_bare_address(to) else quote_address(to)
    rcpt = b"TO:" + quoted.encode("ascii")
    if COMMAND_INJECTION_REGEX.search(rcpt):  # what execute_command would refuse
        raise ValueError("the address holds a control character")
    return rcpt


def _to(rcpt: bytes) -> str:
    return rcpt[3:].decode("ascii").strip("<>")


def _size(client: aiosmtplib.SMTP, raw: bytes) -> list[bytes]:
    return [b"SIZE=%d" % len(raw)] if client.supports_extension("size") else []


def _refusal(sender, recipient, data, mail_from: str, rcpt: bytes) -> Exception | None:
    """The first refusal among an envelope's three answers, as aiosmtplib raises it."""
    if sender.code != SMTPStatus.completed:
        return aiosmtplib.SMTPSenderRefused(sender.code, sender.message, mail_from)
    if recipient.code not in _RCPT_OK:
        return aiosmtplib.SMTPRecipientRefused(recipient.code, recipient.message, _to(rcpt))
    if data.code != SMTPStatus.start_input:
        return aiosmtplib.SMTPDataError(data.code, data.message)
    return None


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
