"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the messaging tests."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from messaging.config import MessagingConfig, SmtpConfig


@dataclass
class Sink:
    """Accepts mail and keeps it; answers 550 to ``bad@…`` and 451 to ``busy@…``."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bad@"):
            return "550 5.1.1 No such user"
        if address.startswith("busy@"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.raw.append(envelope.original_content or envelope.content)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted"

    def by_id(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for message in self.messages:
            counts[message["Message-ID"]] = counts.get(message["Message-ID"], 0) + 1
        return counts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def mail_config(smtp_sink) -> MessagingConfig:
    _sink, port = smtp_sink
    return MessagingConfig(
        mail_from="ООО Ромашка <sales@romashka.example>",
        reply_to="manager@romashka.example",
        smtp=SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=5),
        secret_key="test-secret",
        public_url="https://crm.romashka.example",
    )


@pytest.fixture
async def sms_gateway():
    from tests.messaging.fake_sms import FakeSmsRu

    gateway = await FakeSmsRu().start()
    try:
        yield gateway
    finally:
        await gateway.stop()


@pytest.fixture
def sms_config(sms_gateway):
    from messaging.config import SmsConfig

    return SmsConfig(provider="smsru", api_url=sms_gateway.url, api_key=sms_gateway.api_id)


class Minutes:
    """The fake's clock, moved by hand."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def smsc():
    clock = Minutes()
    from tests.messaging.fake_smsc import FakeSmsc

    gateway = await FakeSmsc(now=clock).start()
    gateway.clock = clock
    try:
        yield gateway
    finally:
        await gateway.stop()


@pytest.fixture
def smsc_config(smsc):
    from messaging.config import SmsConfig

    return SmsConfig(provider="smsc", api_url=smsc.url, api_key=smsc.apikey)
