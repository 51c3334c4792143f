"""A small SMTP server on 127.0.0.1 for the transport's tests, which aiosmtpd cannot
be: it advertises PIPELINING (RFC 2920) or not, records how the client's bytes
arrived (which commands came in one read), and answers by the recipient's address:

- ``bad@…`` 550 and ``busy@…`` 450 at RCPT; ``gone@…`` closes the connection at RCPT;
- ``reject@…`` 554 and ``later@…`` 451 to the message itself; ``drop@…`` closes the
  connection once the message has come, without answering it;
- ``mail_replies``: the next MAIL commands' answers (e.g. "451 …", "550 …", "421 …");
- ``data_despite_refusal``: DATA gets 354 even with no recipient accepted (a server
  RFC 2920 warns of: the client must then end the empty message with a lone ".");
- ``tls``: TLS from the first byte (port 465's way); ``starttls``: STARTTLS advertised
  and required before MAIL (530 without it); each delivery records whether its
  connection was encrypted;
- ``max_connections``: a connection beyond it is greeted "421 Too many connections".

Answers go out as the commands are read: in one write per read (``coalesce``, as
postfix's smtp-sink does), or one write each a few milliseconds apart, so that a
client gets them in separate segments.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
from collections import deque
from dataclasses import dataclass, field

_CLOSE = object()
_STARTTLS = object()


@dataclass
class Envelope:
    sender: str = ""
    recipients: list[str] = field(default_factory=list)


@dataclass
class Delivered:
    sender: str
    recipients: list[str]
    raw: bytes
    secure: bool = False

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)


class _Connection(asyncio.Protocol):
    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self.buffer = b""
        self.envelope = Envelope()
        self.body: list[bytes] | None = None  # lines of the message while it comes
        self.mail_ok = False
        self.replies: asyncio.Queue = asyncio.Queue()
        self.writer: asyncio.Task | None = None
        self.secure = server.tls is not None
        self.upgrading = False
        self.counted = False  # among the server's open connections

    def connection_made(self, transport) -> None:
        self.transport = transport
        server = self.server
        server.connections += 1
        self.writer = asyncio.get_running_loop().create_task(self._write())
        if server.max_connections is not None and server.open >= server.max_connections:
            self.replies.put_nowait([b"421 4.7.0 Too many connections\r\n", _CLOSE])
            return
        server.open += 1
        self.counted = True
        self.replies.put_nowait([b"220 test.example ESMTP\r\n"])

    def connection_lost(self, exc) -> None:
        if self.writer is not None:
            self.writer.cancel()
        if self.counted:
            self.server.open -= 1
            self.counted = False

    async def _write(self) -> None:
        while True:
            batch = await self.replies.get()
            for i, reply in enumerate(batch):
                if reply is _CLOSE:
                    self.transport.close()
                    return
                if reply is _STARTTLS:  # "220 Ready" is out: the handshake follows
                    # start_tls hands the socket to TLS before its first await: what
                    # comes next (EHLO again) is decrypted, maybe before it returns.
                    self.secure, self.upgrading = True, False
                    loop = asyncio.get_running_loop()
                    self.transport = await loop.start_tls(
                        self.transport, self, self.server.starttls, server_side=True
                    )
                    continue
                if not self.server.coalesce and i:
                    await asyncio.sleep(0.003)  # each answer its own segment
                self.transport.write(reply)

    def data_received(self, data: bytes) -> None:
        if self.upgrading:  # nothing may come before the handshake
            self.transport.close()
            return
        self.server.reads.append(data)
        self.buffer += data
        out: list = []
        kinds: list[str] = []
        while b"\r\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            if self.body is not None:
                if line != b".":
                    self.body.append(line[1:] if line.startswith(b".") else line)
                    if "body" not in kinds[-1:]:
                        kinds.append("body")
                    continue
                kinds.append(".")
                out.append(self._message_ended())
            else:
                verb = line.split(b" ", 1)[0].upper().decode()
                kinds.append(verb)
                out.extend(self._command(verb, line))
            if out[-1] is _CLOSE:
                break
            if out[-1] is _STARTTLS:
                self.upgrading = True
                self.buffer = b""
                break
        self.server.commands_by_read.append(kinds)
        if out:
            self.replies.put_nowait(out)

    def _command(self, verb: str, line: bytes) -> list:
        server = self.server
        arg = line[len(verb) :].strip().decode()
        if verb == "EHLO":
            extensions = ["SIZE 10240000", "8BITMIME"]
            if server.pipelining:
                extensions.append("PIPELINING")
            if server.starttls is not None and not self.secure:
                extensions.append("STARTTLS")
            lines = ["test.example", *extensions]
            return [
                "".join(
                    f"250{'-' if i < len(lines) - 1 else ' '}{text}\r\n"
                    for i, text in enumerate(lines)
                ).encode()
            ]
        if verb in ("HELO", "NOOP"):
            return [b"250 OK\r\n"]
        if verb == "RSET":
            self.envelope, self.mail_ok = Envelope(), False
            server.resets += 1
            return [b"250 Reset\r\n"]
        if verb == "QUIT":
            return [b"221 Bye\r\n", _CLOSE]
        if verb == "STARTTLS" and server.starttls is not None and not self.secure:
            self.envelope, self.mail_ok = Envelope(), False
            return [b"220 2.0.0 Ready to start TLS\r\n", _STARTTLS]
        if verb == "MAIL" and server.starttls is not None and not self.secure:
            return [b"530 5.7.0 Must issue a STARTTLS command first\r\n"]
        if verb == "MAIL":
            if self.mail_ok:
                return [b"503 5.5.1 Nested MAIL command\r\n"]
            if server.mail_replies:
                answer = server.mail_replies.popleft()
                # 421: the server closes the connection after saying so
                closing = [_CLOSE] if answer.startswith("421") else []
                return [f"{answer}\r\n".encode(), *closing]
            self.mail_ok = True
            self.envelope = Envelope(sender=_address(arg))
            return [b"250 2.1.0 OK\r\n"]
        if verb == "RCPT":
            if not self.mail_ok:
                return [b"503 5.5.1 Error: need MAIL command\r\n"]
            address = _address(arg)
            if address.startswith("bad@"):
                return [b"550 5.1.1 No such user\r\n"]
            if address.startswith("busy@"):
                return [b"450 4.2.0 Mailbox busy, try again later\r\n"]
            if address.startswith("gone@"):
                return [_CLOSE]
            self.envelope.recipients.append(address)
            return [b"250 2.1.5 OK\r\n"]
        if verb == "DATA":
            if not self.mail_ok:
                return [b"503 5.5.1 Error: need MAIL command\r\n"]
            if not self.envelope.recipients and not server.data_despite_refusal:
                return [b"554 5.5.1 Error: no valid recipients\r\n"]
            self.body = []
            return [b"354 End data with <CR><LF>.<CR><LF>\r\n"]
        return [b"502 5.5.2 Command not recognized\r\n"]

    def _message_ended(self):
        body, self.body = self.body or [], None
        envelope, self.envelope, self.mail_ok = self.envelope, Envelope(), False
        if not envelope.recipients:
            return b"554 5.5.1 Error: no valid recipients\r\n"
        first = envelope.recipients[0]
        if first.startswith("drop@"):
            return _CLOSE
        if first.startswith("reject@"):
            return b"554 5.7.1 Message refused as spam\r\n"
        if first.startswith("later@"):
            return b"451 4.3.0 Temporary failure, try again\r\n"
        raw = b"\r\n".join(body) + b"\r\n"
        self.server.delivered.append(
            Delivered(envelope.sender, envelope.recipients, raw, secure=self.secure)
        )
        return b"250 2.0.0 Queued\r\n"


def _address(arg: str) -> str:
    """``FROM:<a@b> SIZE=…`` → ``a@b``."""
    value = arg.split(":", 1)[1].strip()
    return value.split(">", 1)[0].lstrip("<") if value.startswith("<") else value.split()[0]


@dataclass
class SmtpServer:
    pipelining: bool = True
    coalesce: bool = True
    data_despite_refusal: bool = False
    mail_replies: deque[str] = field(default_factory=deque)
    delivered: list[Delivered] = field(default_factory=list)
    reads: list[bytes] = field(default_factory=list)
    commands_by_read: list[list[str]] = field(default_factory=list)
    tls: ssl.SSLContext | None = None
    starttls: ssl.SSLContext | None = None
    max_connections: int | None = None
    connections: int = 0
    open: int = 0
    resets: int = 0
    port: int = 0

    async def start(self, port: int = 0) -> SmtpServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), "127.0.0.1", port, ssl=self.tls
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    def groups(self) -> list[list[str]]:
        """The commands of each read that carried a transaction's part (not the
        greeting's EHLO, not QUIT)."""
        return [
            kinds for kinds in self.commands_by_read if kinds and kinds[0] not in ("EHLO", "QUIT")
        ]
