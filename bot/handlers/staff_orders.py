"""Buttons under the staff's order and message notifications, through the core:
an order's state (the kind's states), its invoice PDF, and Reply to a customer's
message (the answer goes back through the bot and is recorded as a ``telegram`` event).

Every handler sits behind ``IsStaff``: a forged button from anyone else reaches nothing.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import BotConfig
from bot.filters import Is
from bot.handlers.common import show
from bot.i18n import Translate
from bot.staff_orders import (
    StaffOrderCb,
    StaffReplyCb,
    order_actions,
    order_text,
    state_choices,
)
from bot.staff_plan import office_link
from crm_core.customers.service import get_customer
from crm_core.errors import Conflict, NotFound
from crm_core.events.service import create_event
from crm_core.invoices.firm import get_firm
from crm_core.invoices.pdf import render_invoice_pdf
from crm_core.invoices.service import create_invoice, get_invoice, list_invoices
from crm_core.models import (
    Customer,
    Direction,
    Employee,
    Event,
    EventKind,
    EventState,
    Lead,
    StateCategory,
)
from crm_core.orders.kinds import get_order_kind
from crm_core.orders.service import change_order_state, get_order

REPLY_SUBJECT = "Ответ менеджера в Telegram"


class StaffReply(StatesGroup):
    text = State()


def _office(config: BotConfig | None) -> str:
    return (config.public_url or "") if config else ""


async def order_action(
    query: CallbackQuery,
    callback_data: StaffOrderCb,
    session: AsyncSession,
    employee: Employee,
    _: Translate,
    config: BotConfig | None = None,
) -> None:
    try:
        order = await get_order(session, callback_data.order_id)
    except NotFound:
        await query.answer(_("Not found."))
        return
    action = callback_data.action
    if action == "st":
        kind = await get_order_kind(session, order.kind_id)
        await query.answer()
        await query.message.edit_reply_markup(
            reply_markup=state_choices(order.id, kind.states, order.state_id)
        )
        return
    if action == "set":
        await _set_state(query, session, order, callback_data.arg, _, config)
        return
    if action == "pdf":
        await _invoice_pdf(query, session, order, _, config)
        return
    await query.answer(_("This button is outdated."))


async def _set_state(query, session, order, state_id: int, _: Translate, config) -> None:
    if order.state_id == state_id:
        # A second press, or someone did it first: say where the order is.
        await query.answer(_("The order is already {state}.", state=order.state.name))
        return
    try:
        order = await change_order_state(session, order.id, state_id=state_id)
    except (Conflict, NotFound) as exc:
        await session.rollback()
        await query.answer(str(exc)[:200], show_alert=True)
        return
    customer = await session.scalar(select(Customer.name).where(Customer.id == order.customer_id))
    await session.commit()
    note = _("🔄 State: {state}", state=order.state.name)
    await query.answer(note)
    text = order_text(
        _,
        order,
        heading=_("Order {number}", number=order.number),
        customer=customer,
        url=office_link(_office(config), "orders", order.id),
    )
    await show(query, text, order_actions(_, order.id, pdf=order.total > 0))


async def _invoice_pdf(query, session, order, _: Translate, config) -> None:
    if order.category == StateCategory.CANCELLED or order.total <= 0:
        await query.answer(_("There is nothing to invoice."), show_alert=True)
        return
    invoices, _total = await list_invoices(session, order.id)
    if invoices:
        invoice = invoices[-1]
    else:
        invoice = await get_invoice(session, (await create_invoice(session, order.id)).id)
    customer = await get_customer(session, order.customer_id)
    firm = await get_firm(session)
    await session.commit()
    timezone = config.timezone if config else "Europe/Moscow"
    pdf = render_invoice_pdf(invoice, order, customer, firm, timezone=timezone)
    await query.answer()
    await query.bot.send_document(
        query.from_user.id, BufferedInputFile(pdf, filename=f"invoice-{invoice.number}.pdf")
    )


async def reply_start(
    query: CallbackQuery,
    callback_data: StaffReplyCb,
    session: AsyncSession,
    state: FSMContext,
    _: Translate,
) -> None:
    event = await session.get(Event, callback_data.event_id)
    telegram_id = (event.data or {}).get("telegram_id") if event is not None else None
    if event is None or event.kind != EventKind.TELEGRAM or not telegram_id:
        await query.answer(_("Not found."))
        return
    await state.set_state(StaffReply.text)
    await state.update_data(reply_to=event.id)
    await query.answer()
    await query.bot.send_message(
        query.from_user.id, _("Write your answer; it goes to the customer as it is.")
    )


async def reply_send(
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    employee: Employee,
    _: Translate,
    bot: Bot,
) -> None:
    data = await state.get_data()
    await state.clear()
    event = await session.get(Event, data.get("reply_to") or 0)
    telegram_id = (event.data or {}).get("telegram_id") if event is not None else None
    if event is None or not telegram_id:
        await message.answer(_("Not found."))
        return
    customer_id, lead_id = event.customer_id, event.lead_id
    try:
        sent = await bot.send_message(int(telegram_id), message.text)
    except TelegramForbiddenError:
        await message.answer(_("The customer has blocked the bot; the answer was not delivered."))
        return
    except TelegramAPIError:
        await message.answer(_("Telegram did not take the answer; try again later."))
        return
    await create_event(
        session,
        kind=EventKind.TELEGRAM,
        state=EventState.COMPLETED,
        direction=Direction.OUTGOING,
        subject=REPLY_SUBJECT,
        body=message.text,
        data={"telegram_id": int(telegram_id), "message_id": sent.message_id, "reply_to": event.id},
        starts_at=None,
        employee_id=employee.id,
        customer_id=customer_id,
        lead_id=lead_id,
    )
    name = await _name(session, customer_id, lead_id)
    await session.commit()
    await message.answer(_("✅ Sent to {name}.", name=name or "—"))


async def _name(session: AsyncSession, customer_id: int | None, lead_id: int | None) -> str | None:
    if customer_id is not None:
        return await session.scalar(select(Customer.name).where(Customer.id == customer_id))
    if lead_id is not None:
        return await session.scalar(select(Lead.name).where(Lead.id == lead_id))
    return None


def make_router() -> Router:
    router = Router(name="staff-orders")
    router.callback_query.register(order_action, StaffOrderCb.filter())
    router.callback_query.register(reply_start, StaffReplyCb.filter())
    typed = Is(F.text & ~F.text.startswith("/"))
    router.message.register(reply_send, StateFilter(StaffReply.text), typed)
    return router
