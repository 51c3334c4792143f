"""A campaign whose server or gateway is down, or whose account is refused, loses
nobody: the rows wait with their attempts intact. An outage (no answer, a 503) rests
the campaign and it goes on by itself once the service is back; a refused login or
a revoked bot token pauses it with the reason, for a person to fix."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from crm_core.models import Channel, Delivery, SuppressedAddress
from messaging.campaigns import (
    create_campaign,
    delivery_counts,
    get_campaign,
    start_campaign,
)
from messaging.config import MessagingConfig, SmtpConfig, TelegramConfig
from messaging.email import SmtpTransport
from messaging.pacing import ClockTimer
from messaging.runner import OUTAGE_REST, CampaignRunner
from messaging.sms import SmsRuProvider
from messaging.telegram import TelegramSender
from messaging.templates import create_template
from tests.bot.fake_telegram import FakeTelegram
from tests.messaging.bulk import address, bulk_customers
from tests.messaging.conftest import Sink
from tests.messaging.running import drain
from tests.messaging.smtp_server import SmtpServer

CONFIG = MessagingConfig(
    secret_key="test-secret", public_url="https://crm.example", sms_quiet_hours=(9, 9)
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _smtp(port: int, **smtp) -> MessagingConfig:
    return MessagingConfig(
        mail_from="Ромашка <sales@romashka.example>",
        smtp=SmtpConfig(host="127.0.0.1", port=port, timeout=5, **smtp),
        secret_key="test-secret",
        public_url="https://crm.example",
    )


async def _campaign(uow, clock, channel: str, n: int) -> tuple[int, list[str]]:
    """``n`` consenting customers with an address for the channel, and a campaign to
    them started; returns it and the addresses."""
    async with uow() as s:
        await bulk_customers(s, n, Channel(channel), at=clock.now(), tag="o")
        kind = {"email": "letter", "sms": "sms", "telegram": "telegram"}[channel]
        template = await create_template(
            s, kind=kind, name="T", subject="Новости", body="{{ customer.name }}, новинки"
        )
        campaign = await create_campaign(
            s,
            name="C",
            channel=channel,
            template_id=template.id,
            segment={"tags": ["o"]},
            rate_per_second=100,
        )
        await start_campaign(s, campaign.id)
    return campaign.id, [address(Channel(channel), i) for i in range(n)]


async def _rows(uow, campaign_id: int) -> list[Delivery]:
    async with uow() as s:
        return list(
            await s.scalars(
                select(Delivery).where(Delivery.campaign_id == campaign_id).order_by(Delivery.id)
            )
        )


async def test_smtp_server_down_then_back_every_row_goes_once(uow, sessions, clock) -> None:
    campaign_id, emails = await _campaign(uow, clock, "email", 12)
    port = _free_port()  # nobody listens there yet
    transport = SmtpTransport(_smtp(port, pool_size=2))
    runner = CampaignRunner(
        sessions, transport, CONFIG, clock=clock, timer=ClockTimer(clock), concurrency=4
    )
    server = SmtpServer()
    try:
        await runner.run_once()
        rows = await _rows(uow, campaign_id)
        assert {r.status for r in rows} == {"pending"}
        assert {r.attempts for r in rows} == {0}  # an outage spends no attempt
        assert "SMTP server unavailable" in " ".join(r.detail or "" for r in rows)
        async with uow() as s:
            assert (await get_campaign(s, campaign_id)).state == "sending"

        await server.start(port)
        assert await runner.run_once() == 0  # resting: not a connection tried meanwhile
        assert server.connections == 0
        clock.advance(timedelta(seconds=OUTAGE_REST))
        await drain(runner)
    finally:
        await transport.close()
        if server.port:  # started
            await server.stop()
    async with uow() as s:
        campaign = await get_campaign(s, campaign_id)
        counts = (await delivery_counts(s, [campaign_id]))[campaign_id]
    assert campaign.state == "finished" and counts["sent"] == 12
    assert sorted(d.recipients[0] for d in server.delivered) == sorted(emails)
    assert {r.attempts for r in await _rows(uow, campaign_id)} == {1}


async def test_a_long_outage_rests_longer_each_time(uow, sessions, clock) -> None:
    campaign_id, _emails = await _campaign(uow, clock, "email", 2)
    transport = SmtpTransport(_smtp(_free_port()))
    runner = CampaignRunner(sessions, transport, CONFIG, clock=clock, timer=ClockTimer(clock))
    tried = []
    try:
        for _ in range(4):
            await runner.run_once()
            _until, length = runner._resting[campaign_id]
            tried.append(length)
            clock.advance(timedelta(seconds=length / 2))
            assert await runner.run_once() == 0  # half-way through the rest
            clock.advance(timedelta(seconds=length / 2))
    finally:
        await transport.close()
    assert tried == [OUTAGE_REST, 2 * OUTAGE_REST, 4 * OUTAGE_REST, 8 * OUTAGE_REST]
    rows = await _rows(uow, campaign_id)
    assert {(r.status, r.attempts) for r in rows} == {("pending", 0)}


# A login over plain SMTP, as the test server allows it (a real relay would not).
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_a_refused_login_pauses_the_campaign_and_fails_nobody(uow, sessions, clock) -> None:
    sink = Sink()
    port = _free_port()

    def refuse(server, session, envelope, mechanism, auth_data) -> AuthResult:
        return AuthResult(success=False, handled=False)

    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        auth_required=True,
        auth_require_tls=False,
        authenticator=refuse,
    )
    controller.start()
    campaign_id, _emails = await _campaign(uow, clock, "email", 5)
    transport = SmtpTransport(_smtp(port, username="shop", password="old-password"))
    runner = CampaignRunner(sessions, transport, CONFIG, clock=clock, timer=ClockTimer(clock))
    try:
        await drain(runner)
    finally:
        await transport.close()
        controller.stop()
    async with uow() as s:
        campaign = await get_campaign(s, campaign_id)
        suppressed = list(await s.scalars(select(SuppressedAddress)))
    assert campaign.state == "paused" and "535" in (campaign.pause_reason or "")
    assert {(r.status, r.attempts) for r in await _rows(uow, campaign_id)} == {("pending", 0)}
    assert suppressed == [] and sink.envelopes == []


async def test_sms_gateway_503_waits_and_goes_on(
    uow, sessions, clock, sms_gateway, sms_config
) -> None:
    campaign_id, phones = await _campaign(uow, clock, "sms", 3)
    provider = SmsRuProvider(sms_config)
    runner = CampaignRunner(
        sessions, None, CONFIG, sms=provider, clock=clock, timer=ClockTimer(clock)
    )
    sms_gateway.down = 1_000
    try:
        await runner.run_once()
        rows = await _rows(uow, campaign_id)
        assert {(r.status, r.attempts) for r in rows} == {("pending", 0)}
        assert "503" in (rows[0].detail or "")
        sms_gateway.down = 0
        clock.advance(timedelta(seconds=OUTAGE_REST))
        await drain(runner)
    finally:
        await provider.close()
    async with uow() as s:
        counts = (await delivery_counts(s, [campaign_id]))[campaign_id]
    assert counts["sent"] == 3
    assert sorted(m["to"] for m in sms_gateway.sent) == [p.lstrip("+") for p in phones]


async def test_a_revoked_bot_token_pauses_the_campaign(uow, sessions, clock) -> None:
    fake = await FakeTelegram().start()
    sender = TelegramSender(TelegramConfig("123456:REVOKED", api_url=fake.url))
    campaign_id, _chats = await _campaign(uow, clock, "telegram", 2)
    runner = CampaignRunner(
        sessions, None, CONFIG, telegram=sender, clock=clock, timer=ClockTimer(clock)
    )
    try:
        await drain(runner)
    finally:
        await sender.close()
        await fake.stop()
    async with uow() as s:
        campaign = await get_campaign(s, campaign_id)
    assert campaign.state == "paused" and "401" in (campaign.pause_reason or "")
    assert {(r.status, r.attempts) for r in await _rows(uow, campaign_id)} == {("pending", 0)}
