"""SMS quiet hours (21:00–09:00) on each recipient's own clock, not the firm's.

A Moscow firm; a Vladivostok customer (+7 423…, UTC+10), a Kaliningrad one
(+7 4012…, UTC+2), a Moscow mobile (+7 916…: eleven zones, so the firm's), and a
Vladivostok number whose customer said they live in Kaliningrad (their zone wins).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm_core.models import Channel, Delivery
from messaging.campaigns import create_campaign, get_campaign, start_campaign
from messaging.config import MessagingConfig
from messaging.pacing import ClockTimer
from messaging.quiet import phone_zone, quiet_until, recipient_zone
from messaging.runner import CampaignRunner
from messaging.sms import SmsRuProvider
from messaging.templates import create_template
from tests.factories.people import make_customer
from tests.messaging.bulk import bulk_customers
from tests.messaging.running import drain

CONFIG = MessagingConfig(secret_key="test-secret", public_url="https://crm.example")
VLAD, KAL, MSK = "+74232123456", "+74012123456", "+79161234567"
VLAD_BUT_KAL = "+74232654321"  # a Vladivostok number, the customer's zone Kaliningrad
ZONES = {
    VLAD: "Asia/Vladivostok",
    KAL: "Europe/Kaliningrad",
    MSK: "Europe/Moscow",
    VLAD_BUT_KAL: "Europe/Kaliningrad",
}


def test_the_zone_is_the_customers_else_the_phones_else_the_firms() -> None:
    assert phone_zone(VLAD) == "Asia/Vladivostok"
    assert phone_zone(KAL) == "Europe/Kaliningrad"  # phonenumbers says Bucharest
    assert phone_zone("+74951234567") == "Europe/Moscow"
    assert phone_zone(MSK) is None  # a mobile number: no single zone
    for hostile in ("", None, "garbage", "+7" + "9" * 100, "\x00", "+0000"):
        assert phone_zone(hostile) is None
    firm = "Europe/Moscow"
    assert recipient_zone(None, VLAD, firm) == ZoneInfo("Asia/Vladivostok")
    assert recipient_zone("Europe/Kaliningrad", VLAD, firm) == ZoneInfo("Europe/Kaliningrad")
    assert recipient_zone(None, MSK, "Asia/Yekaterinburg") == ZoneInfo("Asia/Yekaterinburg")
    # A zone that no longer exists (tzdata changed under a stored value): the phone's.
    assert recipient_zone("Nowhere/Gone", VLAD, firm) == ZoneInfo("Asia/Vladivostok")
    assert recipient_zone("../../etc/passwd", None, firm) == ZoneInfo(firm)


@pytest.mark.parametrize(
    ("local", "until"),
    [
        ("2026-03-02 08:59", "2026-03-02 09:00"),
        ("2026-03-02 09:00", None),
        ("2026-03-02 20:59", None),
        ("2026-03-02 21:00", "2026-03-03 09:00"),
        ("2026-03-02 23:30", "2026-03-03 09:00"),
        ("2026-03-03 00:00", "2026-03-03 09:00"),
        # Berlin springs forward on 29 March 2026 at 02:00: 09:00 is still 09:00 local.
        ("2026-03-28 22:00", "2026-03-29 09:00"),
    ],
)
def test_quiet_until_the_next_nine_local(local: str, until: str | None) -> None:
    zone = ZoneInfo("Europe/Berlin")
    at = datetime.fromisoformat(local).replace(tzinfo=zone)
    resume = quiet_until(at, zone, (21, 9))
    if until is None:
        assert resume is None
    else:
        assert resume.tzinfo is UTC
        assert resume == datetime.fromisoformat(until).replace(tzinfo=zone)
    assert quiet_until(at, zone, (9, 9)) is None  # configured off


async def _campaign(uow) -> tuple[dict[str, int], int]:
    async with uow() as s:
        ids = {}
        for phone in (VLAD, KAL, MSK, VLAD_BUT_KAL):
            zone = "Europe/Kaliningrad" if phone == VLAD_BUT_KAL else None
            customer = await make_customer(
                s, phones=[phone], tags=["sms"], consents={"sms": True}, time_zone=zone
            )
            ids[phone] = customer.id
        template = await create_template(s, kind="sms", name="Promo", body="Скидка 10%")
        campaign = await create_campaign(
            s,
            name="SMS",
            channel="sms",
            template_id=template.id,
            segment={"tags": ["sms"]},
            rate_per_second=100,
        )
        await start_campaign(s, campaign.id)
    return ids, campaign.id


def _local_hour(at: datetime, phone: str) -> float:
    local = at.astimezone(ZoneInfo(ZONES[phone]))
    return local.hour + local.minute / 60


async def test_each_recipient_gets_its_sms_only_in_its_own_daytime(
    uow, sessions, clock, sms_gateway, sms_config
) -> None:
    """From 22:30 in Moscow (every recipient asleep) through the next day in half
    hours: each SMS goes at the first step of its own 09:00, exactly once."""
    start = datetime(2026, 3, 2, 19, 30, tzinfo=UTC)
    clock.set(start)
    ids, campaign_id = await _campaign(uow)
    provider = SmsRuProvider(sms_config)
    runner = CampaignRunner(sessions, None, CONFIG, sms=provider, clock=clock)
    sent_at: dict[str, datetime] = {}
    try:
        await drain(runner)
        assert sms_gateway.sent == []
        async with uow() as s:
            rows = {r.customer_id: r for r in await s.scalars(select(Delivery))}
        by_phone = {phone: rows[cid] for phone, cid in ids.items()}
        # Put back, each until its own 09:00, with the attempt given back.
        assert by_phone[VLAD].retry_at == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
        assert by_phone[MSK].retry_at == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
        assert by_phone[KAL].retry_at == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
        assert by_phone[VLAD_BUT_KAL].retry_at == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
        assert {r.status for r in rows.values()} == {"pending"}
        assert {r.attempts for r in rows.values()} == {0}
        while clock.now() < start + timedelta(hours=26):
            clock.advance(timedelta(minutes=30))
            before = len(sms_gateway.sent)
            await drain(runner)
            for message in sms_gateway.sent[before:]:
                phone = "+" + message["to"]
                assert phone not in sent_at, f"{phone} got a second SMS"
                sent_at[phone] = clock.now()
                assert 9 <= _local_hour(clock.now(), phone) < 21, (phone, clock.now())
    finally:
        await provider.close()
    assert sent_at == {
        VLAD: datetime(2026, 3, 2, 23, 0, tzinfo=UTC),  # 09:00 in Vladivostok
        MSK: datetime(2026, 3, 3, 6, 0, tzinfo=UTC),
        KAL: datetime(2026, 3, 3, 7, 0, tzinfo=UTC),
        VLAD_BUT_KAL: datetime(2026, 3, 3, 7, 0, tzinfo=UTC),  # their zone, not the phone's
    }
    assert len(sms_gateway.sent) == 4
    async with uow() as s:
        assert (await get_campaign(s, campaign_id)).state == "finished"
        rows = list(await s.scalars(select(Delivery)))
    assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}


@pytest.mark.parametrize(
    ("at", "now_sent", "later"),
    [
        # 15:00 Moscow, 14:00 Kaliningrad, 22:00 Vladivostok.
        (datetime(2026, 3, 2, 12, 0, tzinfo=UTC), {MSK, KAL, VLAD_BUT_KAL}, {VLAD}),
        # 08:30 Moscow, 07:30 Kaliningrad, 15:30 Vladivostok.
        (datetime(2026, 3, 2, 5, 30, tzinfo=UTC), {VLAD}, {MSK, KAL, VLAD_BUT_KAL}),
        # 09:30 Moscow, 08:30 Kaliningrad, 16:30 Vladivostok.
        (datetime(2026, 3, 2, 6, 30, tzinfo=UTC), {VLAD, MSK}, {KAL, VLAD_BUT_KAL}),
        # 20:30 Moscow, 19:30 Kaliningrad, 03:30 Vladivostok.
        (datetime(2026, 3, 2, 17, 30, tzinfo=UTC), {MSK, KAL, VLAD_BUT_KAL}, {VLAD}),
    ],
)
async def test_at_one_instant_only_those_awake_get_it(
    uow, sessions, clock, sms_gateway, sms_config, at, now_sent, later
) -> None:
    clock.set(at)
    _ids, campaign_id = await _campaign(uow)
    provider = SmsRuProvider(sms_config)
    runner = CampaignRunner(sessions, None, CONFIG, sms=provider, clock=clock)
    try:
        await drain(runner)
        assert {"+" + m["to"] for m in sms_gateway.sent} == now_sent
        async with uow() as s:
            assert (await get_campaign(s, campaign_id)).state == "sending"
        clock.advance(timedelta(minutes=20))  # no night ends within these 20 minutes
        await drain(runner)
        assert len(sms_gateway.sent) == len(now_sent)
        for _hour in range(24):  # the next day, hour by hour: the others' mornings
            clock.advance(timedelta(hours=1))
            await drain(runner)
    finally:
        await provider.close()
    assert sorted("+" + m["to"] for m in sms_gateway.sent) == sorted(now_sent | later)
    async with uow() as s:
        assert (await get_campaign(s, campaign_id)).state == "finished"


async def test_a_night_defers_a_big_campaign_in_few_claims(
    uow, sessions, clock, sms_gateway, sms_config
) -> None:
    """1,000 Moscow mobiles at 23:00: one pass puts every row back (none sent, none
    lost), and the morning sends each once."""
    clock.set(datetime(2026, 3, 2, 20, 0, tzinfo=UTC))
    sms_gateway.balance = 1_000_000.0
    async with uow() as s:
        await bulk_customers(s, 1000, Channel.SMS, at=clock.now(), tag="sms")
        template = await create_template(s, kind="sms", name="Promo", body="Скидка")
        campaign = await create_campaign(
            s,
            name="SMS",
            channel="sms",
            template_id=template.id,
            segment={"tags": ["sms"]},
            rate_per_second=10,
        )
        await start_campaign(s, campaign.id)
    provider = SmsRuProvider(sms_config)
    runner = CampaignRunner(
        sessions, None, CONFIG, sms=provider, clock=clock, timer=ClockTimer(clock)
    )
    claims = 0
    claim_rows = runner._claim_rows

    async def counting(*args, **kwargs):
        nonlocal claims
        claims += 1
        return await claim_rows(*args, **kwargs)

    runner._claim_rows = counting
    try:
        assert await runner.run_once() == 0
        assert claims <= 5  # 16, 64, 256, 1024, then none left: not 63 claims of 16
        async with uow() as s:
            rows = list(await s.scalars(select(Delivery)))
        assert len(rows) == 1000 and {r.status for r in rows} == {"pending"}
        assert {r.retry_at for r in rows} == {datetime(2026, 3, 3, 6, 0, tzinfo=UTC)}
        clock.set(datetime(2026, 3, 3, 5, 59, tzinfo=UTC))
        assert await runner.run_once() == 0
        clock.set(datetime(2026, 3, 3, 6, 0, tzinfo=UTC))  # 09:00 in Moscow
        await drain(runner)
    finally:
        await provider.close()
    assert len(sms_gateway.sent) == 1000 and len({m["to"] for m in sms_gateway.sent}) == 1000
