"""New orders, payments, overdue orders and customers' messages reach the staff once,
through the durable queue; who gets them: the responsible, else every bound manager."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from bot.staff_orders import OverdueCheck
from crm_core.customers.service import create_customer
from crm_core.models import NotificationStatus, StaffNotification
from crm_core.orders.lines import LineInput
from crm_core.orders.payments import register_payment
from crm_core.orders.service import change_order_state, create_order
from tests.bot.people import TgUser
from tests.bot.staff_helpers import OFFICE, bind_manager, drain, staff_relay, staff_sender


async def team(telegram, fake_tg, uow):
    anna, boris = TgUser(fake_tg, 800001, "Anna"), TgUser(fake_tg, 800002, "Boris")
    a = await bind_manager(telegram, uow, anna, name="Anna", email="anna@firm.ru", language="en")
    b = await bind_manager(telegram, uow, boris, name="Boris", email="boris@firm.ru", language="en")
    return anna, boris, a, b


async def an_order(uow, shop, clock, **extra):
    async with uow() as s:
        customer = await create_customer(s, name="Пётр Сидоров", phones=["+79165554433"])
        order = await create_order(
            s,
            customer_id=customer.id,
            lines=[
                LineInput(shop["drill"], Decimal(2)),
                LineInput(shop["white"], Decimal(1)),
            ],
            due_at=clock.now() + timedelta(days=1),
            channel="telegram",
            **extra,
        )
    return order


async def test_new_order_and_payment_reach_every_manager_once(
    telegram, fake_tg, uow, sessions, clock, shop
):
    anna, boris, _, _ = await team(telegram, fake_tg, uow)
    order = await an_order(uow, shop, clock)
    relay, sender = staff_relay(telegram, sessions, clock), staff_sender(telegram, sessions, clock)
    await drain(relay, sender)
    for user in (anna, boris):
        note = fake_tg.last("sendMessage", user.id)
        assert f"🛒 New order {order.number} · telegram" in note.text
        assert "Пётр Сидоров" in note.text
        assert "• Дрель × 2 = 9 980.00 ₽" in note.text and "Total: 10 330.00 ₽" in note.text
        assert f"{OFFICE}/office/orders/{order.id}" in note.text
        assert [b["text"] for b in note.buttons()] == ["🔄 State", "📄 Invoice PDF"]

    async with uow() as s:
        await register_payment(
            s, order.id, amount=Decimal("5000.00"), external_id="p-1", method="bank"
        )
        await register_payment(
            s, order.id, amount=Decimal("5000.00"), external_id="p-1", method="bank"
        )
    await drain(relay, sender)
    paid = fake_tg.last("sendMessage", anna.id)
    assert f"💰 Payment 5 000.00 ₽ for order {order.number}" in paid.text
    assert "paid 48%" in paid.text
    assert len(fake_tg.of("sendMessage", anna.id)) == 3  # greeting, order, one payment


async def test_the_responsible_alone_unless_unbound(telegram, fake_tg, uow, sessions, clock, shop):
    from crm_core.employees.service import create_employee

    anna, boris, anna_id, _ = await team(telegram, fake_tg, uow)
    await an_order(uow, shop, clock, responsible_id=anna_id)
    relay, sender = staff_relay(telegram, sessions, clock), staff_sender(telegram, sessions, clock)
    await drain(relay, sender)
    assert len(fake_tg.of("sendMessage", anna.id)) == 2
    assert len(fake_tg.of("sendMessage", boris.id)) == 1  # only the greeting

    # Responsible, but never bound to Telegram: every bound manager hears of it.
    async with uow() as s:
        carl = await create_employee(s, name="Carl", email="carl@firm.ru")
    await an_order(uow, shop, clock, responsible_id=carl.id)
    await drain(relay, sender)
    assert len(fake_tg.of("sendMessage", anna.id)) == 3
    assert len(fake_tg.of("sendMessage", boris.id)) == 2


async def test_an_order_turning_overdue_is_told_once(telegram, fake_tg, uow, sessions, clock, shop):
    anna, _, anna_id, _ = await team(telegram, fake_tg, uow)
    order = await an_order(uow, shop, clock, responsible_id=anna_id)
    check = OverdueCheck(sessions, office_url=OFFICE, clock=clock)
    sender = staff_sender(telegram, sessions, clock)
    assert await check.run_once() == 0  # due tomorrow
    clock.advance(timedelta(days=1, minutes=1))
    assert await check.run_once() == 1
    assert await check.run_once() == 0  # once per order
    await sender.run_once()
    note = fake_tg.last("sendMessage", anna.id)
    assert f"🔴 Order {order.number} is overdue (due 03.03 10:00)" in note.text
    async with uow() as s:
        row = (
            await s.scalars(select(StaffNotification).where(StaffNotification.order_id == order.id))
        ).all()
    assert [r.topic for r in row if r.status == NotificationStatus.SENT] == ["order.overdue"]


async def test_order_buttons_change_state_and_send_the_invoice(
    telegram, fake_tg, uow, sessions, clock, shop, mallory
):
    anna, _, anna_id, _ = await team(telegram, fake_tg, uow)
    order = await an_order(uow, shop, clock, responsible_id=anna_id)
    await drain(staff_relay(telegram, sessions, clock), staff_sender(telegram, sessions, clock))
    note = fake_tg.last("sendMessage", anna.id)
    forged = note.button("🔄")["callback_data"]
    await telegram.feed(mallory.taps(forged))
    assert fake_tg.last("answerCallbackQuery").params["text"] == "This button is outdated."

    await telegram.feed(anna.taps(note.button("🔄")["callback_data"]))
    states = fake_tg.last("editMessageReplyMarkup", anna.id).buttons()
    assert states[0]["text"].startswith("• ")  # the current state is marked
    target = states[1]
    await telegram.feed(anna.taps(target["callback_data"]))
    assert fake_tg.last("answerCallbackQuery").params["text"] == f"🔄 State: {target['text']}"
    assert f"State: {target['text']}" in fake_tg.last("editMessageText", anna.id).text
    await telegram.feed(anna.taps(target["callback_data"]))  # stale: already there
    assert fake_tg.last("answerCallbackQuery").params["text"] == (
        f"The order is already {target['text']}."
    )
    async with uow() as s:
        from crm_core.orders.service import get_order

        assert (await get_order(s, order.id)).state.name == target["text"]

    await telegram.feed(anna.taps(note.button("📄")["callback_data"]))
    document = fake_tg.last("sendDocument", anna.id)
    assert document.params["document"]["filename"].startswith("invoice-")
    assert document.params["document"]["size"] > 1000


async def test_tasks_and_find(telegram, fake_tg, uow, clock, shop):
    from crm_core.events.service import create_event
    from crm_core.leads.service import intake_lead
    from crm_core.tasks.service import create_task

    anna, _, anna_id, _ = await team(telegram, fake_tg, uow)
    await telegram.feed(anna.says("/tasks"))
    assert fake_tg.last("sendMessage", anna.id).text == "No open tasks."
    async with uow() as s:
        await create_task(s, subject="Send the offer", assignee_id=anna_id, due_at=clock.now())
        await create_task(
            s, subject="Old debt", assignee_id=anna_id, due_at=clock.now() - timedelta(days=2)
        )
        await intake_lead(s, name="Пётр Лидов", phones=["+79160000001"], source="web_form")
    order = await an_order(uow, shop, clock)
    async with uow() as s:
        await create_event(
            s,
            kind="call",
            subject="Обсудить доставку",
            customer_id=order.customer_id,
            employee_id=anna_id,
            starts_at=clock.now() - timedelta(hours=1),
        )
    clock.advance(timedelta(minutes=1))
    await telegram.feed(anna.says("/tasks"))
    listed = fake_tg.last("sendMessage", anna.id).text.splitlines()
    assert listed == [
        "Open tasks: 2",
        "❗ 28.02 10:00 Old debt",
        "❗ 02.03 10:00 Send the offer",
    ]
    await telegram.feed(anna.says("/find 916 555-44-33"))
    card = fake_tg.last("sendMessage", anna.id).text
    assert card.startswith("👤 Customer: Пётр Сидоров\n  +79165554433")
    assert "call: Обсудить доставку" in card and f"{order.number} · 10 330.00 ₽" in card
    await telegram.feed(anna.says("/find Лидов"))
    lead = fake_tg.last("sendMessage", anna.id)
    assert "Пётр Лидов" in lead.text and lead.button("🙋")
    await telegram.feed(anna.says("/find %_%"))
    assert fake_tg.last("sendMessage", anna.id).text == "Nothing found for “%_%”."
    await telegram.feed(anna.says("/find"))
    assert fake_tg.last("sendMessage", anna.id).text.startswith("Write what to find")


async def test_a_charge_no_order_could_take_reaches_the_managers(
    telegram, fake_tg, uow, sessions, clock, shop
):
    from crm_core.cart.charges import settle_telegram_charge
    from crm_core.models import OrderState, StateCategory

    anna, boris, _, _ = await team(telegram, fake_tg, uow)
    order = await an_order(uow, shop, clock)
    relay, sender = staff_relay(telegram, sessions, clock), staff_sender(telegram, sessions, clock)
    await drain(relay, sender)
    async with uow() as s:
        cancelled = await s.scalar(
            select(OrderState.id).where(
                OrderState.kind_id == order.kind_id, OrderState.category == StateCategory.CANCELLED
            )
        )
        await change_order_state(s, order.id, state_id=cancelled)
    async with uow() as s:  # paid in Telegram after the order was cancelled
        await settle_telegram_charge(
            s,
            charge_id="tg-charge-1",
            provider_charge_id="prov-1",
            telegram_id=555,
            payload=f"order:{order.id}",
            order_id=order.id,
            customer_id=order.customer_id,
            amount_minor=1033000,
            currency="RUB",
        )
    async with uow() as s:  # and a charge naming no order of this customer
        await settle_telegram_charge(
            s,
            charge_id="tg-charge-2",
            provider_charge_id="prov-2",
            telegram_id=555,
            payload="order:999999",
            order_id=None,
            customer_id=order.customer_id,
            amount_minor=50000,
            currency="RUB",
        )
    await drain(relay, sender)
    for user in (anna, boris):
        texts = [m.text for m in fake_tg.of("sendMessage", user.id)]
        about_order = [t for t in texts if "charged but not applied" in t and order.number in t]
        assert len(about_order) == 1, texts
        assert f"{OFFICE}/office/orders/{order.id}" in about_order[0]
        orphan = [t for t in texts if "charged but not applied" in t and order.number not in t]
        assert len(orphan) == 1 and "Пётр Сидоров" in orphan[0]
        assert f"{OFFICE}/office/customers/{order.customer_id}" in orphan[0]
