"""Telegram campaigns and single sends through the real aiogram Bot talking HTTP to
the fake Bot API: pacing under Telegram's limit, 429 honoured, 403 remembered, the
stop button."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from aiogram import Dispatcher
from sqlalchemy import select

from crm_core.errors import ValidationFailed
from crm_core.models import Channel, Consent, Customer, Delivery, Event
from messaging.campaigns import create_campaign, delivery_counts, get_campaign, start_campaign
from messaging.config import MessagingConfig, TelegramConfig
from messaging.pacing import ClockTimer
from messaging.runner import CampaignRunner
from messaging.single import send_telegram
from messaging.telegram import TelegramSender
from messaging.telegram_stop import register_stop_button
from messaging.templates import create_template
from messaging.unsubscribe import make_token
from tests.factories.people import make_customer
from tests.messaging.bulk import address, bulk_customers
from tests.messaging.fake_limits import RateLimitedTelegram
from tests.messaging.running import drain

SECRET = "test-secret"
CONFIG = MessagingConfig(secret_key=SECRET, public_url="https://crm.example")


@pytest.fixture
async def fake(clock):
    timer = ClockTimer(clock)
    server = await RateLimitedTelegram(now=timer.monotonic).start()
    yield server
    await server.stop()


@pytest.fixture
async def sender(fake):
    sender = TelegramSender(TelegramConfig(fake.token, api_url=fake.url))
    yield sender
    await sender.close()


def _runner(sessions, clock, sender, **kw) -> CampaignRunner:
    return CampaignRunner(
        sessions, None, CONFIG, telegram=sender, clock=clock, timer=ClockTimer(clock), **kw
    )


async def _campaign(uow, *, tag: str = "bulk", rate: int = 100) -> int:
    async with uow() as s:
        template = await create_template(
            s, kind="telegram", name="TG", body="{{ customer.name }}, новинки недели!"
        )
        campaign = await create_campaign(
            s,
            name="TG",
            channel="telegram",
            template_id=template.id,
            segment={"tags": [tag]},
            rate_per_second=rate,
        )
        await start_campaign(s, campaign.id)
    return campaign.id


async def test_5000_recipients_at_25_per_second_without_a_single_429(
    uow, sessions, clock, fake, sender
) -> None:
    """Time is the injected clock: the pacer sleeps by moving it, the fake Bot API
    counts messages per second of it, and the rows' sent_at come from it too. One
    message in flight: injected time stands still during a real HTTP call, so
    overlapping calls would bunch up in it (the real-time test below has several)."""
    n = 5000
    async with uow() as s:
        await bulk_customers(s, n, Channel.TELEGRAM, at=clock.now(), without_consent={7, 11})
    campaign_id = await _campaign(uow, rate=100)  # asks for 100/s: Telegram gets 25/s
    started = clock.now()
    await drain(_runner(sessions, clock, sender, concurrency=1))
    elapsed = (clock.now() - started).total_seconds()
    assert fake.rejected == 0
    sent = Counter(c.chat_id for c in fake.of("sendMessage"))
    assert len(sent) == n - 2 and set(sent.values()) == {1}
    assert int(address(Channel.TELEGRAM, 7)) not in sent
    pace = (n - 2) / 25
    assert 0.95 * pace <= elapsed <= 1.1 * pace, elapsed
    # Never more than 25 in any one-second window (Telegram's own limit is 30).
    times = fake.sent_at
    assert max(sum(t - times[i] < 0.999 for t in times[i : i + 27]) for i in range(n - 30)) <= 25
    button = fake.of("sendMessage")[0].buttons()[0]
    assert button["text"] == "Отписаться от рассылки" and button["callback_data"].startswith(
        "stop:"
    )
    async with uow() as s:
        assert (await get_campaign(s, campaign_id)).state == "finished"
        counts = (await delivery_counts(s, [campaign_id]))[campaign_id]
    assert counts["sent"] == n - 2 and counts["skipped"] == 2


async def test_several_in_flight_in_real_time_stay_under_the_limit(uow, sessions, clock) -> None:
    """Real time, eight sends in flight: 150 messages at 25/s take 6 s, none refused."""
    import time

    from messaging.pacing import RealTimer

    fake = await RateLimitedTelegram(now=time.monotonic).start()
    sender = TelegramSender(TelegramConfig(fake.token, api_url=fake.url))
    try:
        async with uow() as s:
            await bulk_customers(s, 150, Channel.TELEGRAM, at=clock.now())
        await _campaign(uow, rate=1000)
        runner = CampaignRunner(
            sessions, None, CONFIG, telegram=sender, clock=clock, timer=RealTimer(), concurrency=8
        )
        started = time.monotonic()
        await drain(runner)
        elapsed = time.monotonic() - started
    finally:
        await sender.close()
        await fake.stop()
    assert fake.rejected == 0
    assert len({c.chat_id for c in fake.of("sendMessage")}) == 150
    # Never faster than the pace allows; the upper bound only catches a stall (a busy CI
    # machine's scheduler, not the pacer, decides how late the last send may be).
    assert 149 / 25 * 0.95 <= elapsed <= 150 / 25 * 2, elapsed


async def test_429_is_waited_out_and_403_marks_the_customer_unreachable(
    uow, sessions, clock, fake, sender
) -> None:
    async with uow() as s:
        ids = await bulk_customers(s, 6, Channel.TELEGRAM, at=clock.now())
    blocked, slow = int(address(Channel.TELEGRAM, 2)), int(address(Channel.TELEGRAM, 4))
    fake.fail("sendMessage", status=403, chat_id=blocked, times=10)
    fake.fail("sendMessage", status=429, retry_after=7, chat_id=slow, times=1)
    first = await _campaign(uow)
    started = clock.now()
    runner = _runner(sessions, clock, sender, concurrency=1)
    await drain(runner)
    assert clock.now() - started >= timedelta(seconds=7)  # retry_after honoured
    sent = Counter(c.chat_id for c in fake.of("sendMessage"))
    assert sent[slow] == 1 and blocked not in sent and len(sent) == 5
    async with uow() as s:
        row = await s.scalar(
            select(Delivery).where(Delivery.campaign_id == first, Delivery.customer_id == ids[2])
        )
        customer = await s.get(Customer, ids[2])
    assert row.status == "skipped" and "403" in row.detail
    assert customer.telegram_unreachable is True
    attempts = len([c for c in fake.calls if c.chat_id == blocked])
    second = await _campaign(uow)  # the next campaign leaves them out, never retried
    await drain(runner)
    assert len([c for c in fake.calls if c.chat_id == blocked]) == attempts
    async with uow() as s:
        again = await s.scalar(
            select(Delivery).where(Delivery.campaign_id == second, Delivery.customer_id == ids[2])
        )
        assert (await get_campaign(s, first)).state == "finished"
    assert again.status == "skipped" and again.detail == "blocked the bot"


async def test_the_stop_button_unsubscribes_only_its_own_customer(
    uow, sessions, clock, fake, sender
) -> None:
    async with uow() as s:
        ivan = await make_customer(s, telegram_id=700001, consents={"telegram": True})
    token = make_token(SECRET, customer_id=ivan.id, channel="telegram", campaign_id=3)
    dispatcher = Dispatcher()
    register_stop_button(dispatcher, sessions, secret_key=SECRET, clock=clock)

    def press(user_id: int, data: str) -> dict:
        return fake.update(
            callback_query={
                "id": f"cb{user_id}{len(fake.calls)}",
                "from": {"id": user_id, "is_bot": False, "first_name": "U"},
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": 77,
                    "date": 1_770_000_000,
                    "chat": {"id": user_id, "type": "private"},
                    "text": "новинки",
                },
            }
        )

    async def consent() -> bool:
        async with uow() as s:
            row = await s.scalar(select(Consent).where(Consent.customer_id == ivan.id))
            return row.granted

    forged = "stop:" + token[:-2] + "xx"
    await dispatcher.feed_raw_update(sender.bot, press(700001, forged))
    await dispatcher.feed_raw_update(sender.bot, press(700666, "stop:" + token))  # not Ivan
    assert await consent() is True
    answers = [c.params["text"] for c in fake.of("answerCallbackQuery")]
    assert answers == ["Эта кнопка больше не действует."] * 2
    await dispatcher.feed_raw_update(sender.bot, press(700001, "stop:" + token))
    assert await consent() is False
    assert fake.last("answerCallbackQuery").params["text"] == "Вы отписаны от рассылки."
    assert fake.last("editMessageReplyMarkup").chat_id == 700001
    async with uow() as s:
        event = await s.scalar(select(Event).where(Event.customer_id == ivan.id))
    assert event.kind == "telegram" and event.data["unsubscribe"] is True


async def test_single_telegram_message_is_an_event(session, fake, sender) -> None:
    ivan = await make_customer(session, name="Иван", telegram_id=700001)
    gone = await make_customer(session, telegram_id=700002)
    fake.fail("sendMessage", status=403, chat_id=700002)
    event = await send_telegram(session, sender, customer_id=ivan.id, text="Ваш заказ готов")
    failed = await send_telegram(session, sender, customer_id=gone.id, text="Ваш заказ готов")
    assert fake.last("sendMessage", 700001).text == "Ваш заказ готов"
    assert event.kind == "telegram" and event.data["delivery_status"] == "sent"
    assert event.data["message_id"] and event.data["to"] == "700001"
    assert failed.data["delivery_status"] == "skipped" and "403" in failed.data["detail"]
    await session.refresh(gone)
    assert gone.telegram_unreachable is True
    with pytest.raises(ValidationFailed, match="started the bot"):
        await send_telegram(session, sender, customer_id=gone.id, text="again")
    nobody = await make_customer(session)
    with pytest.raises(ValidationFailed, match="started the bot"):
        await send_telegram(session, sender, customer_id=nobody.id, text="x")
