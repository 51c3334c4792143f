"""/start, the shared contact, deep links, /help, /language, and bad input."""

from __future__ import annotations

from sqlalchemy import select

from crm_core.models import ContactKind, ContactPoint, Customer, Event, Lead, LeadSource
from tests.bot.people import TgUser


async def test_start_greets_and_asks_for_the_contact(telegram, fake_tg, ivan):
    await telegram.feed(ivan.says("/start"))
    reply = fake_tg.last("sendMessage", ivan.id)
    assert "Здравствуйте, Иван" in reply.text
    keyboard = reply.params["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_contact"] is True


async def test_own_contact_makes_a_telegram_lead(telegram, fake_tg, ivan, uow):
    await telegram.feed(ivan.shares("79161234567"))
    assert "Мы вас узнали" in fake_tg.last("sendMessage", ivan.id).text
    async with uow() as s:
        lead = (await s.scalars(select(Lead))).one()
        contacts = set(
            (c.kind, c.value)
            for c in await s.scalars(select(ContactPoint).where(ContactPoint.lead_id == lead.id))
        )
    assert lead.source == LeadSource.TELEGRAM
    assert contacts == {(ContactKind.PHONE, "+79161234567"), (ContactKind.TELEGRAM, str(ivan.id))}


async def test_contact_links_an_existing_customer_by_phone(telegram, fake_tg, ivan, uow):
    from crm_core.customers.service import create_customer

    async with uow() as s:
        customer = await create_customer(s, name="Иван Петров", phones=["+7 916 123-45-67"])
    await telegram.feed(ivan.shares("+79161234567"))
    async with uow() as s:
        assert not (await s.scalars(select(Lead))).all()
        tg = await s.scalar(
            select(ContactPoint).where(
                ContactPoint.kind == ContactKind.TELEGRAM, ContactPoint.value == str(ivan.id)
            )
        )
    assert tg.customer_id == customer.id


async def test_someone_elses_contact_is_refused(telegram, fake_tg, ivan, uow):
    await telegram.feed(ivan.shares("+79161234567", owner=123))
    assert "своим номером" in fake_tg.last("sendMessage", ivan.id).text
    async with uow() as s:
        assert not (await s.scalars(select(Lead))).all()
        assert not (await s.scalars(select(Customer))).all()


async def test_deep_link_payload_is_recorded_on_the_lead(telegram, fake_tg, ivan, uow):
    await telegram.feed(ivan.says("/start spring_ad"))
    await telegram.feed(ivan.shares("79161234567"))
    async with uow() as s:
        lead = (await s.scalars(select(Lead))).one()
    assert lead.source_detail == "spring_ad"


async def test_language_switch_and_help(telegram, fake_tg, ivan):
    await telegram.feed(ivan.says("/help"))
    assert "/catalog — каталог" in fake_tg.last("sendMessage", ivan.id).text
    await telegram.feed(ivan.says("/language"))
    await telegram.feed(ivan.taps("lang:en"))
    assert fake_tg.last("sendMessage", ivan.id).text == "Language: English."
    await telegram.feed(ivan.says("/help"))
    assert "/catalog — catalog" in fake_tg.last("sendMessage", ivan.id).text


async def test_english_speakers_get_english_first(telegram, fake_tg, mallory):
    await telegram.feed(mallory.says("/start"))
    assert fake_tg.last("sendMessage", mallory.id).text.startswith("Hello, Mallory")


async def test_bad_input_is_answered_politely_or_ignored(telegram, fake_tg, ivan):
    await telegram.feed(ivan.says("/nonsense"))
    assert "Не знаю такой команды" in fake_tg.last("sendMessage", ivan.id).text
    sticker = {"file_id": "s", "file_unique_id": "s", "type": "regular"}
    sticker |= {"width": 1, "height": 1, "is_animated": False, "is_video": False}
    await telegram.feed(ivan.sends(sticker=sticker))
    assert "понимаю текст" in fake_tg.last("sendMessage", ivan.id).text
    before = len(fake_tg.calls)
    await telegram.feed(ivan.edits("changed my mind"))
    await telegram.feed(ivan.says("/start", chat="group"))
    await telegram.feed(
        fake_tg.update(channel_post={"message_id": 1, "date": 1, "chat": ivan.chat("channel")})
    )
    await telegram.feed({"update_id": 999999, "message": {"garbage": True}})
    assert len(fake_tg.calls) == before  # silence, and no crash


async def test_forged_and_stale_buttons_say_outdated(telegram, fake_tg, ivan, uow):
    for data in ("o:abc:card", "p:999999", "ca:1:5:p", "zzz", "co:confirm", "g:424242:0"):
        await telegram.feed(ivan.taps(data))
        assert fake_tg.last("answerCallbackQuery").params.get("text") in (
            "Эта кнопка устарела.",
            "Не найдено.",
        ), data
    assert not fake_tg.of("sendMessage", ivan.id)
    async with uow() as s:
        assert not (await s.scalars(select(Event))).all()


async def test_free_text_becomes_an_event_and_an_outbox_message(telegram, fake_tg, uow):
    from crm_core.models import OutboxEvent

    anna = TgUser(fake_tg, 700002, "Анна")
    await telegram.feed(anna.says("Здравствуйте, есть ли доставка в Тверь?"))
    assert "передано менеджеру" in fake_tg.last("sendMessage", anna.id).text
    async with uow() as s:
        event = (await s.scalars(select(Event).where(Event.kind == "telegram"))).one()
        outbox = (
            await s.scalars(select(OutboxEvent).where(OutboxEvent.topic == "customer.message"))
        ).one()
    assert event.body == "Здравствуйте, есть ли доставка в Тверь?"
    assert event.lead_id is not None
    assert outbox.payload["event_id"] == event.id
