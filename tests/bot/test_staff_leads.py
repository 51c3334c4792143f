"""A form lead reaches every bound manager once; Take by one edits the others'
messages; stale presses say what changed; Convert + order and Hide go through the core."""

from __future__ import annotations

from sqlalchemy import select

from crm_core.leads.service import get_lead, intake_lead
from crm_core.models import Lead, LeadResult, NotificationStatus, Order, StaffNotification
from tests.bot.people import TgUser
from tests.bot.staff_helpers import OFFICE, bind_manager, drain, staff_relay, staff_sender


async def web_lead(uow, **extra) -> int:
    async with uow() as s:
        result = await intake_lead(
            s,
            name="Пётр Сидоров",
            phones=["+7 916 555-44-33"],
            emails=["petr@example.com"],
            source="web_form",
            **extra,
        )
    return result.lead.id


async def managers(telegram, fake_tg, uow) -> tuple[TgUser, TgUser, int, int]:
    anna, boris = TgUser(fake_tg, 800001, "Анна"), TgUser(fake_tg, 800002, "Борис")
    a = await bind_manager(telegram, uow, anna, name="Анна", email="anna@firm.ru")
    b = await bind_manager(telegram, uow, boris, name="Борис", email="boris@firm.ru")
    return anna, boris, a, b


async def test_lead_reaches_every_manager_once_and_the_first_take_wins(
    telegram, fake_tg, uow, sessions, clock
):
    anna, boris, anna_id, boris_id = await managers(telegram, fake_tg, uow)
    lead_id = await web_lead(uow)
    relay, sender = staff_relay(telegram, sessions, clock), staff_sender(telegram, sessions, clock)
    await drain(relay, sender)
    to_anna = fake_tg.last("sendMessage", anna.id)
    to_boris = fake_tg.last("sendMessage", boris.id)
    for call in (to_anna, to_boris):
        assert "Новая заявка · web_form" in call.text
        assert "Пётр Сидоров" in call.text and "+79165554433" in call.text
        assert "petr@example.com" in call.text and f"{OFFICE}/office/leads/{lead_id}" in call.text
        assert [b["text"] for b in call.buttons()][:1] == ["🙋 Взять"]

    # The same outbox event handed over again (lease ran out): nobody gets it twice.
    async with uow() as s:
        rows = (await s.scalars(select(StaffNotification))).all()
    assert {(r.employee_id, r.status) for r in rows} == {
        (anna_id, NotificationStatus.SENT),
        (boris_id, NotificationStatus.SENT),
    }
    from crm_core.outbox.service import ClaimedEvent

    event = ClaimedEvent(
        rows[0].outbox_event_id, "lead.created", {"lead_id": lead_id}, 2, clock.now()
    )
    for subscriber in relay.subscribers_for("lead.created"):
        await subscriber(event)
    assert await sender.run_once() == 0
    assert len(fake_tg.of("sendMessage", anna.id)) == 2  # the bind greeting + one lead

    take = to_anna.button("🙋")["callback_data"]
    await telegram.feed(anna.taps(take))
    assert fake_tg.last("answerCallbackQuery").params["text"] == "👤 В работе у вас"
    edited = fake_tg.last("editMessageText", boris.id)
    assert "Взял(а): Анна" in edited.text and not edited.params.get("reply_markup")
    async with uow() as s:
        lead = await get_lead(s, lead_id)
    assert lead.responsible_id == anna_id and lead.state.code == "in_work"

    # Boris presses his stale button: told who took it, nothing changes.
    await telegram.feed(boris.taps(to_boris.button("🙋")["callback_data"]))
    assert fake_tg.last("answerCallbackQuery").params["text"] == "Заявку уже взял(а) Анна."
    async with uow() as s:
        assert (await s.get(Lead, lead_id)).responsible_id == anna_id


async def test_convert_with_order_then_a_stale_hide(telegram, fake_tg, uow, sessions, clock):
    anna, boris, _, _ = await managers(telegram, fake_tg, uow)
    lead_id = await web_lead(uow)
    await drain(staff_relay(telegram, sessions, clock), staff_sender(telegram, sessions, clock))
    card = fake_tg.last("sendMessage", anna.id)
    await telegram.feed(anna.taps(card.button("🛒")["callback_data"]))
    assert "Клиент и заказ №" in fake_tg.last("editMessageText", anna.id).text
    async with uow() as s:
        lead = await s.get(Lead, lead_id)
        order = (await s.scalars(select(Order))).one()
    assert lead.result == LeadResult.CONVERTED and lead.order_id == order.id

    # Boris still has the buttons: converting again or hiding says what happened.
    other = fake_tg.last("sendMessage", boris.id)
    await telegram.feed(boris.taps(other.button("👤")["callback_data"]))
    answer = fake_tg.last("answerCallbackQuery").params["text"]
    assert answer == "Заявка уже преобразована в клиента."
    async with uow() as s:
        assert len((await s.scalars(select(Order))).all()) == 1


async def test_hide_with_a_reason_from_the_list(telegram, fake_tg, uow, sessions, clock):
    anna, _, _, _ = await managers(telegram, fake_tg, uow)
    lead_id = await web_lead(uow, responsible_id=None)
    await drain(staff_relay(telegram, sessions, clock), staff_sender(telegram, sessions, clock))
    card = fake_tg.last("sendMessage", anna.id)
    await telegram.feed(anna.taps(card.button("🙈")["callback_data"]))
    reasons = fake_tg.last("editMessageReplyMarkup", anna.id)
    first = reasons.buttons()[0]
    await telegram.feed(anna.taps(first["callback_data"]))
    assert f"Заявка скрыта: {first['text']}" in fake_tg.last("editMessageText", anna.id).text
    async with uow() as s:
        assert (await s.get(Lead, lead_id)).result == LeadResult.HIDDEN


async def test_a_responsible_manager_alone_gets_it_and_403_marks_unreachable(
    telegram, fake_tg, uow, sessions, clock
):
    anna, boris, _, boris_id = await managers(telegram, fake_tg, uow)
    fake_tg.fail("sendMessage", status=403, chat_id=boris.id)
    await web_lead(uow, responsible_id=boris_id)
    await drain(staff_relay(telegram, sessions, clock), staff_sender(telegram, sessions, clock))
    assert len(fake_tg.of("sendMessage", anna.id)) == 1  # only her greeting
    from crm_core.models import Employee

    async with uow() as s:
        assert (await s.get(Employee, boris_id)).telegram_unreachable is True
        row = (await s.scalars(select(StaffNotification))).one()
    assert row.status == NotificationStatus.FAILED


async def test_an_imported_file_is_one_message_not_one_per_lead(
    telegram, fake_tg, uow, sessions, clock
):
    from channels.files.importer import run_import

    anna, boris, _a, _b = await managers(telegram, fake_tg, uow)
    before = len(fake_tg.of("sendMessage"))
    data = "ФИО;Телефон\r\n" + "".join(f"Лид {i};+7916400{i:04d}\r\n" for i in range(30))
    report = await run_import(
        sessions, kind="leads", data=data.encode(), filename="l.csv", dry_run=False, clock=clock
    )
    assert report.counts["created"] == 30
    await drain(staff_relay(telegram, sessions, clock), staff_sender(telegram, sessions, clock))
    sent = fake_tg.of("sendMessage")[before:]
    assert sorted(c.chat_id for c in sent) == sorted([anna.id, boris.id])
    assert all(c.text.startswith("📥 Импорт заявок: новых 30, обновлено 0") for c in sent)
    assert all(c.text.endswith("/office/leads?source=import") for c in sent)
