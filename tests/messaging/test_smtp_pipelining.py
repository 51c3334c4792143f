"""SMTP PIPELINING (RFC 2920) in the transport: MAIL, RCPT and DATA in one write and
the message in a second when the server advertises it, one command a write when it
does not; every refusal answers the same ``SendResult`` either way, and a refused or
broken message does not spoil the next one."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import tempfile
import time
from collections import deque
from pathlib import Path

import pytest

from messaging.config import MessagingConfig, SmtpConfig
from messaging.email import OutgoingEmail, SmtpTransport, _Job
from tests.messaging.smtp_server import SmtpServer

ENVELOPE = ["MAIL", "RCPT", "DATA"]


def _mail(to: str) -> OutgoingEmail:
    return OutgoingEmail(to=to, subject="Тема", text="Текст", html="<p>Текст</p>")


def _config(port: int, *, timeout: float = 5) -> MessagingConfig:
    return MessagingConfig(
        mail_from="ООО Ромашка <sales@romashka.example>",
        smtp=SmtpConfig(host="127.0.0.1", port=port, timeout=timeout, pool_size=1),
        secret_key="test-secret",
        public_url="https://crm.romashka.example",
    )


async def _send_all(server: SmtpServer, recipients: list[str]) -> list:
    transport = SmtpTransport(_config(server.port))
    try:
        return [await transport.send(_mail(to)) for to in recipients]
    finally:
        await transport.close()


@pytest.fixture(params=[True, False], ids=["coalesced", "one-segment-each"])
async def server(request):
    """A PIPELINING server answering a group in one write, or each answer apart."""
    server = await SmtpServer(coalesce=request.param).start()
    try:
        yield server
    finally:
        await server.stop()


async def test_envelope_in_one_write_and_the_message_in_the_next(server) -> None:
    results = await _send_all(server, ["a@x.example", "b@x.example", "c@x.example"])
    assert all(r.ok for r in results) and "Queued" in results[0].detail
    assert server.connections == 1
    # Each message: MAIL, RCPT, DATA came in one read; the body and its "." after.
    groups = server.groups()
    assert groups.count(ENVELOPE) == 3
    assert [g for g in groups if g != ENVELOPE] == [["body", "."]] * 3
    assert [d.recipients for d in server.delivered] == [
        ["a@x.example"],
        ["b@x.example"],
        ["c@x.example"],
    ]
    assert {d.sender for d in server.delivered} == {"sales@romashka.example"}
    assert str(server.delivered[0].message["Subject"]) == "Тема"
    assert server.delivered[0].message.get_body(("plain",)).get_content().strip() == "Текст"


async def test_leading_dots_are_doubled_on_the_wire(server) -> None:
    """The message as aiosmtplib's own DATA sends it: lone LF made CRLF, leading dots
    doubled (the server takes them off again)."""
    transport = SmtpTransport(_config(server.port))
    raw = b"Subject: dots\r\n\r\n.hidden\r\n..two\nbare lf\r\n.\r\nlast"
    try:
        client = await transport._connect()
        job = _Job(
            "a@x.example", b"TO:<a@x.example>", raw, asyncio.get_running_loop().create_future()
        )
        await transport._pipelined(client, job)
        client.close()
    finally:
        await transport.close()
    assert "Queued" in job.answer.result()
    assert server.delivered[0].raw == (
        b"Subject: dots\r\n\r\n.hidden\r\n..two\r\nbare lf\r\n.\r\nlast\r\n"
    )


REFUSALS = [
    "ok1@x.example",
    "bad@x.example",  # 550 at RCPT: a bad address
    "busy@x.example",  # 450 at RCPT: later
    "reject@x.example",  # 554 to the message: permanent, the address is fine
    "later@x.example",  # 451 to the message: later
    "ok2@x.example",
]


def _shape(result) -> tuple:
    return (result.ok, result.permanent, result.bad_address, result.detail)


async def test_each_refusal_answers_as_the_sequential_path(server) -> None:
    pipelined = await _send_all(server, REFUSALS)
    plain = await SmtpServer(pipelining=False).start()
    try:
        sequential = await _send_all(plain, REFUSALS)
    finally:
        await plain.stop()
    assert [_shape(r) for r in pipelined] == [_shape(r) for r in sequential]
    ok1, bad, busy, reject, later, ok2 = pipelined
    assert ok1.ok and ok2.ok
    assert bad.permanent and bad.bad_address and bad.detail.startswith("550 5.1.1")
    assert not busy.permanent and not busy.bad_address and busy.detail.startswith("450")
    assert reject.permanent and not reject.bad_address and reject.detail.startswith("554 5.7.1")
    assert not later.permanent and not later.bad_address and later.detail.startswith("451")
    # One connection throughout: a refused envelope was reset (RSET; a refused
    # message ends its transaction itself) and the next message went out on it.
    assert server.connections == 1 and server.resets == 2
    assert [d.recipients for d in server.delivered] == [["ok1@x.example"], ["ok2@x.example"]]
    # The refused recipients' DATA answers (554, no valid recipients) were read too:
    # the envelope of the next message was never paired with a stale answer.
    assert server.groups().count(ENVELOPE) == len(REFUSALS)


async def test_refused_mail_is_the_senders_refusal(server) -> None:
    server.mail_replies = deque(["451 4.3.0 Sender verify deferred", "550 5.7.1 Sender refused"])
    later, refused, ok = await _send_all(server, ["a@x.example", "b@x.example", "c@x.example"])
    assert not later.ok and not later.permanent and not later.bad_address
    assert later.detail.startswith("451 4.3.0")
    assert not refused.ok and refused.permanent and not refused.bad_address
    assert refused.detail.startswith("550 5.7.1")
    assert ok.ok and server.connections == 1
    assert [d.recipients for d in server.delivered] == [["c@x.example"]]


async def test_data_accepted_without_a_recipient_ends_with_a_lone_dot(server) -> None:
    """RFC 2920: a server may answer 354 to DATA though every RCPT was refused; the
    client ends that empty message with "." (nothing is delivered) and goes on."""
    server.data_despite_refusal = True
    bad, ok = await _send_all(server, ["bad@x.example", "ok@x.example"])
    assert not bad.ok and bad.bad_address and bad.detail.startswith("550")
    assert ok.ok and server.connections == 1
    assert [d.recipients for d in server.delivered] == [["ok@x.example"]]
    assert ["."] in server.groups()


@pytest.mark.parametrize(
    ("to", "connections"),
    [("gone@x.example", 3), ("drop@x.example", 2)],
    ids=["at-rcpt", "at-body"],
)
async def test_a_connection_dropped_mid_transaction_is_retried_on_a_new_one(
    server, to, connections
) -> None:
    """The message fails as a broken connection (the campaign retries it); the next
    message goes out on a new connection. Dropped before its content left, the
    message was tried once more on a new connection first."""
    dropped, ok = await _send_all(server, [to, "ok@x.example"])
    assert not dropped.ok and not dropped.permanent and not dropped.bad_address
    assert dropped.detail.startswith("connection:")
    assert ok.ok and server.connections == connections
    assert [d.recipients for d in server.delivered] == [["ok@x.example"]]


async def test_421_closes_the_connection_and_the_next_message_reconnects(server) -> None:
    server.mail_replies = deque(["421 4.3.2 Shutting down"])
    closing, ok = await _send_all(server, ["a@x.example", "b@x.example"])
    assert not closing.ok and not closing.permanent and closing.detail.startswith("421")
    assert ok.ok and server.connections == 2


async def _send_together(server: SmtpServer, recipients: list[str]) -> list:
    """Every message handed to the transport at once, as a campaign's senders do."""
    transport = SmtpTransport(_config(server.port))
    try:
        return await asyncio.gather(*(transport.send(_mail(to)) for to in recipients))
    finally:
        await transport.close()


async def test_a_message_goes_with_the_next_ones_envelope(server) -> None:
    """Messages queued behind each other: each one's content and the next one's
    MAIL, RCPT, DATA in one write (one round trip a message)."""
    recipients = [f"r{i}@x.example" for i in range(6)]
    results = await _send_together(server, recipients)
    assert all(r.ok for r in results) and server.connections == 1
    groups = server.groups()
    assert groups[0] == ENVELOPE
    assert groups.count(["body", ".", *ENVELOPE]) == 5
    assert groups[-1] == ["body", "."]
    assert [d.recipients for d in server.delivered] == [[to] for to in recipients]


async def test_refusals_amid_a_stream_answer_as_one_at_a_time(server) -> None:
    """The same refusals with every message queued at once: each answers what it
    answers sent alone, and none spoils the next one's envelope."""
    together = await _send_together(server, REFUSALS * 2)
    plain = await SmtpServer(pipelining=False).start()
    try:
        sequential = await _send_all(plain, REFUSALS * 2)
    finally:
        await plain.stop()
    assert [_shape(r) for r in together] == [_shape(r) for r in sequential]
    assert server.connections == 1
    assert [d.recipients for d in server.delivered] == [["ok1@x.example"], ["ok2@x.example"]] * 2
    # After a refused RCPT the RSET went with the next envelope.
    assert ["RSET", *ENVELOPE] in server.groups()


async def test_a_broken_connection_sends_the_next_message_again_on_a_new_one(server) -> None:
    """The connection drops once a message's content has come: that message fails
    (it may have been delivered: the campaign retries it); the next one, whose
    envelope went with it but whose content never left, goes on a new connection."""
    dropped, after, last = await _send_together(
        server, ["drop@x.example", "after@x.example", "last@x.example"]
    )
    assert not dropped.ok and dropped.detail.startswith("connection:")
    assert after.ok and last.ok and server.connections == 2
    assert [d.recipients for d in server.delivered] == [["after@x.example"], ["last@x.example"]]


async def test_pipelined_messages_beside_each_other_on_every_connection(server) -> None:
    """More messages than connections: the pool's connections all carry some, and
    every message is delivered once."""
    transport = SmtpTransport(
        MessagingConfig(
            mail_from="sales@romashka.example",
            smtp=SmtpConfig(host="127.0.0.1", port=server.port, timeout=5, pool_size=3),
        )
    )
    try:
        results = await asyncio.gather(
            *(transport.send(_mail(f"r{i}@x.example")) for i in range(60))
        )
    finally:
        await transport.close()
    assert all(r.ok for r in results)
    assert server.connections == 3
    assert sorted(d.recipients[0] for d in server.delivered) == sorted(
        f"r{i}@x.example" for i in range(60)
    )


async def test_sequential_when_pipelining_is_not_advertised() -> None:
    server = await SmtpServer(pipelining=False).start()
    try:
        results = await _send_all(server, ["a@x.example", "bad@x.example", "b@x.example"])
    finally:
        await server.stop()
    assert [r.ok for r in results] == [True, False, True]
    # One command a read: the client waited for each answer.
    groups = server.groups()
    assert ENVELOPE not in groups
    assert groups[:4] == [["MAIL"], ["RCPT"], ["DATA"], ["body", "."]]


async def test_a_server_that_never_answers_times_out_and_the_connection_is_dropped() -> None:
    """Answers due but never coming: the read times out, the connection is dropped
    (a later answer would be paired with the wrong command), the message may retry."""
    closed = asyncio.Event()
    silent = await asyncio.start_server(
        lambda r, w: _greet_then_listen(r, w, closed), "127.0.0.1", 0
    )
    port = silent.sockets[0].getsockname()[1]
    transport = SmtpTransport(_config(port, timeout=0.3))
    try:
        result = await transport.send(_mail("a@x.example"))
        await asyncio.wait_for(closed.wait(), 1)  # the client closed its end
    finally:
        await transport.close()
        silent.close()
        await silent.wait_closed()
    assert not result.ok and not result.permanent and result.detail.startswith("connection:")


async def _greet_then_listen(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, closed: asyncio.Event | None = None
) -> None:
    writer.write(b"220 silent.example ESMTP\r\n")
    await reader.readline()
    writer.write(b"250-silent.example\r\n250 PIPELINING\r\n")
    while await reader.read(4096):
        pass
    if closed is not None:
        closed.set()
    writer.close()


# ------------------------------------------------------------ postfix's smtp-sink


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def postfix_sink():
    """postfix's smtp-sink on a free port, dumping every message into one file."""
    if shutil.which("smtp-sink") is None:
        pytest.skip("postfix's smtp-sink not installed")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="firma-smtp-sink-") as tmp:
        Path(tmp).chmod(0o1777)  # it writes as "nobody": not under pytest's 0700 tmp
        dump = Path(tmp) / "dump"
        command = ["smtp-sink", "-u", "nobody", "-D", str(dump), f"127.0.0.1:{port}", "16"]
        sink = subprocess.Popen(command)
        try:
            for _ in range(100):
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.05)
            yield port, dump
        finally:
            sink.terminate()
            sink.wait(10)


def _message_ids(dump: Path) -> list[bytes]:
    if not dump.exists():
        return []
    return [line for line in dump.read_bytes().splitlines() if line.startswith(b"Message-ID:")]


async def test_postfix_smtp_sink_takes_pipelined_messages(postfix_sink) -> None:
    port, dump = postfix_sink
    transport = SmtpTransport(_config(port))
    try:
        client = await transport._connect()
        assert client.supports_extension("pipelining")
        client.close()
        results = await asyncio.gather(
            *(transport.send(_mail(f"r{i}@x.example")) for i in range(50))
        )
    finally:
        await transport.close()
    assert all(r.ok for r in results), [r.detail for r in results if not r.ok]
    for _ in range(100):  # the dump is written as the messages come
        ids = await asyncio.to_thread(_message_ids, dump)
        if len(ids) >= 50:
            break
        await asyncio.sleep(0.05)
    assert len(ids) == len(set(ids)) == 50


async def test_answers_coming_before_the_last_one_is_picked_up_are_kept() -> None:
    """What aiosmtplib alone would lose: the transport hands the protocol a second and
    third answer while the first still waits for the reading task (three reads in the
    loop before the task runs). The same calls the transport makes, in that order."""
    from aiosmtplib.response import SMTPResponse

    from messaging.email import _Pipeline

    silent = await asyncio.start_server(_greet_then_listen, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    transport = SmtpTransport(_config(port, timeout=0.5))
    try:
        client = await transport._connect()
        protocol = client.protocol
        with _Pipeline(client) as replies:
            protocol.data_received(b"250 2.1.0 sender\r\n")
            protocol.data_received(b"250 2.1.5 recipient\r\n25")
            protocol.data_received(b"0 2.0.0 split\r\n354 go on\r\n")
            answers = [await replies.read() for _ in range(4)]
        assert client.is_connected
        client.close()
    finally:
        await transport.close()
        silent.close()
        await silent.wait_closed()
    assert answers == [
        SMTPResponse(250, "2.1.0 sender"),
        SMTPResponse(250, "2.1.5 recipient"),
        SMTPResponse(250, "2.0.0 split"),
        SMTPResponse(354, "go on"),
    ]
