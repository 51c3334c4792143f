"""SMS: segments, the SMS.ru provider against a fake gateway speaking its JSON API,
SMS campaigns (opt-out hint, quiet hours, bad numbers, balance), single sends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm_core.errors import ValidationFailed
from crm_core.models import Delivery, Event, SuppressedAddress
from messaging.campaigns import create_campaign, delivery_counts, get_campaign, start_campaign
from messaging.config import MessagingConfig, SmsConfig
from messaging.runner import CampaignRunner
from messaging.single import send_sms
from messaging.sms import LogSmsProvider, SmsRuProvider, count_segments, create_sms_provider
from messaging.templates import create_template
from messaging.unsubscribe import read_token
from tests.factories.people import make_customer
from tests.messaging.running import drain

CONFIG = MessagingConfig(secret_key="test-secret", public_url="https://crm.example")


@pytest.mark.parametrize(
    ("text", "encoding", "units", "count"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # the extension table takes two septets
        ("{" * 81, "GSM-7", 162, 2),
        ("я" * 70, "UCS-2", 70, 1),
        ("я" * 71, "UCS-2", 71, 2),
        ("Скидка 10%! " + "a" * 122, "UCS-2", 134, 2),
        ("я" * 135, "UCS-2", 135, 3),
        ("🙂" * 35, "UCS-2", 70, 1),  # outside the BMP: a surrogate pair each
        ("", "GSM-7", 0, 1),
    ],
)
def test_segments(text: str, encoding: str, units: int, count: int) -> None:
    parts = count_segments(text)
    assert (parts.encoding, parts.units, parts.count) == (encoding, units, count)


async def test_smsru_answers_become_results(sms_gateway, sms_config) -> None:
    sms_gateway.invalid.add("79990000000")
    sms_gateway.barred.add("79990000001")
    provider = SmsRuProvider(sms_config)
    try:
        ok = await provider.send("+79161234567", "Привет")
        invalid = await provider.send("+79990000000", "Привет")
        barred = await provider.send("+79990000001", "Привет")
        sms_gateway.down = 1
        down = await provider.send("+79161234567", "Привет")
        sms_gateway.balance = 1.0
        broke = await provider.send("+79161234567", "Привет")
        wrong_key = await SmsRuProvider(replace(sms_config, api_key="nope")).send(
            "+79161234567", "x"
        )
    finally:
        await provider.close()
    assert ok.ok and ok.message_id and sms_gateway.sent[0]["to"] == "79161234567"
    assert not invalid.ok and invalid.permanent and invalid.bad_address and "202" in invalid.detail
    assert not barred.ok and barred.bad_address and "207" in barred.detail
    assert not down.ok and not down.permanent and down.outage and "503" in down.detail
    assert not broke.ok and broke.fatal and "201" in broke.detail
    assert not wrong_key.ok and wrong_key.fatal and "200" in wrong_key.detail
    assert len(sms_gateway.sent) == 1


async def test_gateway_unreachable_is_transient() -> None:
    provider = SmsRuProvider(SmsConfig(provider="smsru", api_url="http://127.0.0.1:1", api_key="k"))
    result = await provider.send("+79161234567", "x")
    await provider.close()
    assert not result.ok and not result.permanent and not result.fatal and result.outage


def test_provider_choice() -> None:
    assert isinstance(create_sms_provider(SmsConfig()), LogSmsProvider)
    with pytest.raises(ValueError, match="unknown SMS provider"):
        create_sms_provider(SmsConfig(provider="carrier-pigeon"))
    with pytest.raises(ValueError, match="API_KEY"):
        create_sms_provider(SmsConfig(provider="smsru"))


async def _sms_campaign(uow, phones: list[str], **extra):
    async with uow() as s:
        ids = [
            (await make_customer(s, phones=[p], tags=["sms"], consents={"sms": True})).id
            for p in phones
        ]
        await make_customer(s, phones=["+79160000009"], tags=["sms"])  # no consent
        template = await create_template(
            s, kind="sms", name="Promo", body="{{ customer.name }}, скидка 10% до пятницы"
        )
        campaign = await create_campaign(
            s,
            name="SMS",
            channel="sms",
            template_id=template.id,
            segment={"tags": ["sms"]},
            rate_per_second=100,
            **extra,
        )
        await start_campaign(s, campaign.id)
    return ids, campaign.id


async def test_sms_campaign_waits_through_quiet_hours_and_carries_an_opt_out_hint(
    uow, sessions, clock, sms_gateway, sms_config
) -> None:
    clock.set(datetime(2026, 3, 2, 19, 30, tzinfo=UTC))  # 22:30 in Moscow
    phones = ["+79161234560", "+79161234561", "+79161234562"]
    _ids, campaign_id = await _sms_campaign(uow, phones)
    provider = SmsRuProvider(sms_config)
    runner = CampaignRunner(sessions, None, CONFIG, sms=provider, clock=clock)
    try:
        assert await runner.run_once() == 0  # night: nothing goes out, nothing is lost
        clock.set(datetime(2026, 3, 3, 5, 59, tzinfo=UTC))  # 08:59
        assert await runner.run_once() == 0
        clock.advance(timedelta(minutes=1))  # 09:00
        await drain(runner)
    finally:
        await provider.close()
    assert sorted(m["to"] for m in sms_gateway.sent) == [p.lstrip("+") for p in phones]
    text = sms_gateway.sent[0]["text"]
    assert "скидка 10%" in text
    hint = text.splitlines()[-1]
    assert hint.startswith("Отписаться: https://crm.example/unsubscribe/")
    request = read_token("test-secret", hint.rsplit("/", 1)[1])
    assert request.channel == "sms" and request.campaign_id == campaign_id
    async with uow() as s:
        assert (await get_campaign(s, campaign_id)).state == "finished"
        rows = list(await s.scalars(select(Delivery).where(Delivery.status == "sent")))
    assert len(rows) == 3 and all(r.message_id and "SMS (UCS-2" in r.detail for r in rows)
    assert rows[0].sent_at == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)


async def test_invalid_numbers_are_marked_bad_and_skipped_by_later_campaigns(
    uow, sessions, clock, sms_gateway, sms_config
) -> None:
    sms_gateway.invalid.add("79990000000")
    ids, first = await _sms_campaign(uow, ["+79990000000", "+79161234561"])
    provider = SmsRuProvider(sms_config)
    runner = CampaignRunner(sessions, None, CONFIG, sms=provider, clock=clock)
    try:
        await drain(runner)
        async with uow() as s:
            template = (await get_campaign(s, first)).template_id
            second = await create_campaign(
                s, name="Again", channel="sms", template_id=template, segment={"tags": ["sms"]}
            )
            await start_campaign(s, second.id)
        await drain(runner)
    finally:
        await provider.close()
    async with uow() as s:
        bad = await s.scalar(select(SuppressedAddress))
        again = await s.scalar(
            select(Delivery).where(
                Delivery.campaign_id == second.id, Delivery.customer_id == ids[0]
            )
        )
        failed = await s.scalar(
            select(Delivery).where(Delivery.campaign_id == first, Delivery.customer_id == ids[0])
        )
        counts = await delivery_counts(s, [first, second.id])
    assert bad.channel == "sms" and bad.address == "+79990000000" and "202" in bad.reason
    assert failed.status == "failed" and "202" in failed.detail
    assert again.status == "skipped" and again.detail == "bad address"
    assert counts[first]["sent"] == 1 and counts[second.id]["sent"] == 1
    assert sms_gateway.requests == 3  # the bad number was tried once, ever


async def test_empty_balance_pauses_the_campaign_and_nothing_is_lost(
    uow, sessions, clock, sms_gateway, sms_config
) -> None:
    sms_gateway.balance = 2 * 2 * sms_gateway.price  # two messages of two parts each
    phones = [f"+7916123456{i}" for i in range(5)]
    _ids, campaign_id = await _sms_campaign(uow, phones)
    provider = SmsRuProvider(sms_config)
    runner = CampaignRunner(sessions, None, CONFIG, sms=provider, clock=clock, concurrency=1)
    try:
        await drain(runner)
        async with uow() as s:
            campaign = await get_campaign(s, campaign_id)
            counts = (await delivery_counts(s, [campaign_id]))[campaign_id]
        assert campaign.state == "paused" and "201" in campaign.pause_reason
        assert counts["sent"] == 2 and counts["pending"] == 3 and counts["failed"] == 0
        sms_gateway.balance = 1000  # the firm tops up and resumes
        async with uow() as s:
            resumed = await start_campaign(s, campaign_id)
            assert resumed.state == "sending" and resumed.pause_reason is None
        await drain(runner)
    finally:
        await provider.close()
    assert sorted(m["to"] for m in sms_gateway.sent) == [p.lstrip("+") for p in phones]
    async with uow() as s:
        assert (await get_campaign(s, campaign_id)).state == "finished"


async def test_single_sms_is_an_event_with_its_delivery_status(
    session, sms_gateway, sms_config
) -> None:
    sms_gateway.invalid.add("79990000000")
    customer = await make_customer(session, name="Иван", phones=["+79161234567"])
    bad = await make_customer(session, phones=["+79990000000"])
    template = await create_template(
        session, kind="sms", name="s", body="{{ customer.name }}, ваш заказ готов"
    )
    provider = SmsRuProvider(sms_config)
    try:
        event = await send_sms(session, provider, customer_id=customer.id, template_id=template.id)
        failed = await send_sms(session, provider, customer_id=bad.id, text="Проверка")
        with pytest.raises(ValidationFailed, match="phone"):
            nobody = await make_customer(session)
            await send_sms(session, provider, customer_id=nobody.id, text="x")
        with pytest.raises(ValidationFailed, match="either"):
            await send_sms(session, provider, customer_id=customer.id)
        with pytest.raises(ValidationFailed, match="longer"):
            await send_sms(session, provider, customer_id=customer.id, text="я" * 5000)
    finally:
        await provider.close()
    assert sms_gateway.sent[0]["text"] == "Иван, ваш заказ готов"
    stored = await session.scalar(select(Event).where(Event.id == event.id))
    assert stored.kind == "sms" and stored.state == "completed"
    assert stored.data["delivery_status"] == "sent" and stored.data["segments"] == 1
    assert stored.data["message_id"] == sms_gateway.sent[0]["id"]
    assert failed.data["delivery_status"] == "failed" and "202" in failed.data["detail"]


def test_a_misconfigured_gateway_does_not_stop_the_other_channels() -> None:
    from messaging.runner import create_campaign_runner

    broken = create_campaign_runner(None, MessagingConfig(sms=SmsConfig(provider="smsru")))
    assert broken.senders.sms is None and broken.senders.email is not None
    assert broken.senders.serves("email") and not broken.senders.serves("sms")
    assert isinstance(create_campaign_runner(None, CONFIG).senders.sms, LogSmsProvider)
