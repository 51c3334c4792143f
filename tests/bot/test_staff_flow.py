"""The issue's done-when, end to end against the fake Bot API: a web-form lead reaches
the bound managers (answers and UTM shown), one takes it, schedules a call back, and is
reminded at that minute; Reply to a customer's message goes back through the bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.handlers.staff_callback import parse_local_time
from bot.staff_reminders import ReminderPlanner
from crm_core.employees.service import create_employee
from crm_core.leads.service import intake_lead
from crm_core.models import Direction, Event, EventKind, EventState, Lead
from tests.bot.people import TgUser
from tests.bot.staff_helpers import bind_manager, drain, staff_relay, staff_sender
from tests.webforms.conftest import make_form, token_for  # noqa: F401 - fixtures


async def test_form_lead_take_call_back_and_the_reminder_at_its_minute(
    telegram,
    fake_tg,
    uow,
    sessions,
    clock,
    client,
    make_form,  # noqa: F811
    token_for,  # noqa: F811
):
    anna, boris = TgUser(fake_tg, 800001, "Анна"), TgUser(fake_tg, 800002, "Борис")
    await bind_manager(telegram, uow, anna, name="Анна", email="anna@firm.ru")
    boris_id = await bind_manager(telegram, uow, boris, name="Борис", email="boris@firm.ru")
    await make_form(responsible_id=boris_id)
    token = await token_for()
    posted = await client.post(
        "/forms/callback",
        json={
            "name": "Пётр",
            "phone": "+7 916 555-44-33",
            "message": "Нужна доставка в пятницу",
            "consent": True,
            "_token": token,
            "utm_source": "yandex",
            "utm_campaign": "spring",
        },
    )
    assert posted.status_code == 201, posted.text
    relay, sender = staff_relay(telegram, sessions, clock), staff_sender(telegram, sessions, clock)
    await drain(relay, sender)
    # The form gives its leads to Boris: the lead is his, and only he hears of it.
    async with uow() as s:
        lead = (await s.scalars(select(Lead))).one()
    assert lead.responsible_id == boris_id
    assert len(fake_tg.of("sendMessage", anna.id)) == 1  # only her greeting
    card = fake_tg.last("sendMessage", boris.id)
    assert "🆕 Новая заявка · web_form · Обратный звонок" in card.text
    assert "• message: Нужна доставка в пятницу" in card.text
    assert "• utm_source: yandex" in card.text and "• utm_campaign: spring" in card.text
    assert card.buttons()[0]["text"] == "👤 В клиенты"  # no Take: it is his

    await telegram.feed(boris.taps(card.button("📞")["callback_data"]))
    times = fake_tg.last("editMessageReplyMarkup", boris.id)
    in_an_hour = times.button("Через 1 час")["callback_data"]
    await telegram.feed(boris.taps(in_an_hour))
    assert fake_tg.last("answerCallbackQuery").params["text"] == (
        "📞 Звонок запланирован на 02.03 11:00, я напомню."
    )
    await telegram.feed(boris.taps(in_an_hour))  # a second press makes no second call
    assert fake_tg.last("answerCallbackQuery").params["text"] == (
        "Звонок на 02.03 11:00 уже запланирован."
    )
    async with uow() as s:
        calls = (await s.scalars(select(Event).where(Event.kind == EventKind.CALL))).all()
    assert len(calls) == 1
    call = calls[0]
    assert call.employee_id == boris_id and call.state == EventState.PLANNED
    assert call.starts_at == call.remind_at == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    planner = ReminderPlanner(sessions, clock=clock)
    clock.advance(timedelta(minutes=59))
    assert await planner.run_once() == 0
    clock.advance(timedelta(minutes=1))
    assert await planner.run_once() == 1
    await drain(relay, sender)
    note = fake_tg.last("sendMessage", boris.id)
    assert "Перезвонить: Пётр" in note.text and "+79165554433" in note.text
    assert "опозданием" not in note.text
    # The call's time has come: "1 h" moves the call; "Cancel" then cancels it; a stale
    # press says what it is now.
    await telegram.feed(boris.taps(note.button("⏰ 1 ч")["callback_data"]))
    assert (
        fake_tg.last("answerCallbackQuery").params["text"] == "📞 Звонок перенесён на 02.03 12:00."
    )
    await telegram.feed(boris.taps(note.button("✖️")["callback_data"]))
    await telegram.feed(boris.taps(note.button("✅")["callback_data"]))
    assert fake_tg.last("answerCallbackQuery").params["text"] == "Уже cancelled."
    async with uow() as s:
        assert (await s.get(Event, call.id)).state == EventState.CANCELLED


async def test_call_back_at_a_written_time(telegram, fake_tg, uow, sessions, clock):
    anna = TgUser(fake_tg, 800001, "Anna")
    await bind_manager(telegram, uow, anna, name="Anna", email="anna@firm.ru", language="en")
    async with uow() as s:
        lead = (await intake_lead(s, name="Пётр", phones=["+79165554433"], source="web_form")).lead
    await drain(staff_relay(telegram, sessions, clock), staff_sender(telegram, sessions, clock))
    card = fake_tg.last("sendMessage", anna.id)
    await telegram.feed(anna.taps(card.button("📞")["callback_data"]))
    other = fake_tg.last("editMessageReplyMarkup", anna.id).button("Other")["callback_data"]
    await telegram.feed(anna.taps(other))
    assert "HH:MM" in fake_tg.last("sendMessage", anna.id).text
    await telegram.feed(anna.says("soon"))
    assert fake_tg.last("sendMessage", anna.id).text == "Write the time as HH:MM or DD.MM HH:MM."
    await telegram.feed(anna.says("01.03 09:00"))  # yesterday
    assert fake_tg.last("sendMessage", anna.id).text == "That time has passed; pick a later one."
    await telegram.feed(anna.says("16:30"))
    assert "planned for 02.03 16:30" in fake_tg.last("sendMessage", anna.id).text
    await telegram.feed(anna.says("17:00"))  # the conversation is over: not a second call
    async with uow() as s:
        calls = (await s.scalars(select(Event).where(Event.lead_id == lead.id))).all()
    assert [c.starts_at for c in calls if c.kind == EventKind.CALL] == [
        datetime(2026, 3, 2, 13, 30, tzinfo=UTC)
    ]


def test_parse_local_time():
    at = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
    msk = "Europe/Moscow"
    assert parse_local_time("16:30", at=at, timezone=msk) == datetime(
        2026, 3, 2, 13, 30, tzinfo=UTC
    )
    assert parse_local_time("09:00", at=at, timezone=msk) == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    assert parse_local_time("5.3.2026 8.15", at=at, timezone=msk) == datetime(
        2026, 3, 5, 5, 15, tzinfo=UTC
    )
    for bad in ("", "25:00", "31.02 10:00", "tomorrow", "10:00; DROP TABLE", "1" * 500):
        assert parse_local_time(bad, at=at, timezone=msk) is None


async def test_an_unbound_responsible_means_everyone_and_take_wins(
    telegram, fake_tg, uow, sessions, clock
):
    anna, boris = TgUser(fake_tg, 800001, "Anna"), TgUser(fake_tg, 800002, "Boris")
    anna_id = await bind_manager(telegram, uow, anna, name="Anna", email="a@firm.ru", language="en")
    await bind_manager(telegram, uow, boris, name="Boris", email="b@firm.ru", language="en")
    async with uow() as s:
        carl = await create_employee(s, name="Carl", email="carl@firm.ru")
        lead = (
            await intake_lead(
                s, name="Пётр", phones=["+79165554433"], source="web_form", responsible_id=carl.id
            )
        ).lead
    await drain(staff_relay(telegram, sessions, clock), staff_sender(telegram, sessions, clock))
    to_anna, to_boris = fake_tg.last("sendMessage", anna.id), fake_tg.last("sendMessage", boris.id)
    assert to_anna.button("🙋") and to_boris.button("🙋")
    await telegram.feed(boris.taps(to_boris.button("🙋")["callback_data"]))
    assert "Taken by Boris" in fake_tg.last("editMessageText", anna.id).text
    await telegram.feed(anna.taps(to_anna.button("🙋")["callback_data"]))
    assert (
        fake_tg.last("answerCallbackQuery").params["text"] == "Boris has already taken this lead."
    )
    async with uow() as s:
        assert (await s.get(Lead, lead.id)).responsible_id != anna_id


async def test_reply_to_a_customer_message_goes_back_through_the_bot(
    telegram, fake_tg, uow, sessions, clock, ivan, mallory
):
    anna = TgUser(fake_tg, 800001, "Anna")
    anna_id = await bind_manager(telegram, uow, anna, name="Anna", email="a@firm.ru", language="en")
    await telegram.feed(ivan.says("Здравствуйте, доставка есть?"))
    await drain(staff_relay(telegram, sessions, clock), staff_sender(telegram, sessions, clock))
    note = next(c for c in fake_tg.of("sendMessage", anna.id) if "writes" in c.text)
    assert note.text.startswith("💬 Иван writes:\nЗдравствуйте, доставка есть?")
    reply = note.button("↩️")["callback_data"]
    await telegram.feed(mallory.taps(reply))  # a forged press reaches nothing
    assert fake_tg.last("answerCallbackQuery").params["text"] == "This button is outdated."
    await telegram.feed(anna.taps(reply))
    await telegram.feed(anna.says("Да, по Москве бесплатно."))
    assert fake_tg.last("sendMessage", ivan.id).text == "Да, по Москве бесплатно."
    assert fake_tg.last("sendMessage", anna.id).text == "✅ Sent to Иван."
    async with uow() as s:
        out = (await s.scalars(select(Event).where(Event.direction == Direction.OUTGOING))).one()
    assert out.kind == EventKind.TELEGRAM and out.employee_id == anna_id
    assert out.body == "Да, по Москве бесплатно." and out.lead_id is not None
    # The next plain message from the manager is not sent to anyone.
    sent = len(fake_tg.of("sendMessage", ivan.id))
    await telegram.feed(anna.says("просто заметка"))
    assert len(fake_tg.of("sendMessage", ivan.id)) == sent
