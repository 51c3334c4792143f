"""Orders, payments, refunds and customers' messages → the staff's Telegram; overdue orders.

Outbox subscribers (registered by ``firma/worker.py``) queue one row per (event,
employee) in ``staff_notifications``; ``OverdueCheck`` is a periodic pass that queues
each order whose indicator turned ``overdue`` once (key ``overdue:<order id>``).
Buttons: an order's state (the kind's states) and its invoice PDF; Reply under a
customer's message (the answer goes back through the bot, see
``bot/handlers/staff_orders.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Translate, translator
from bot.staff_plan import language_of, office_link, queue, recipients
from bot.views import qty, rub
from crm_core.context import SYSTEM, Clock, now
from crm_core.db import unit_of_work
from crm_core.models import Customer, Lead, Order, OrderIndicator, StaffNotification
from crm_core.orders.indicators import indicator_filter, paid_percent, shipped_percent
from crm_core.orders.service import get_order

log = logging.getLogger(__name__)

LINES_SHOWN = 10
OVERDUE_TOPIC = "order.overdue"


class StaffOrderCb(CallbackData, prefix="so"):
    order_id: int
    action: str  # st: pick a state, set: move to ``arg``, pdf: the invoice PDF
    arg: int = 0


class StaffReplyCb(CallbackData, prefix="sm"):
    event_id: int  # the customer's incoming ``telegram`` event


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def order_actions(_: Translate, order_id: int, *, pdf: bool = True) -> InlineKeyboardMarkup:
    row = [_button(_("🔄 State"), StaffOrderCb(order_id=order_id, action="st"))]
    if pdf:
        row.append(_button(_("📄 Invoice PDF"), StaffOrderCb(order_id=order_id, action="pdf")))
    return InlineKeyboardMarkup(inline_keyboard=[row])


def state_choices(order_id: int, states, current_id: int) -> InlineKeyboardMarkup:
    rows = [
        [
            _button(
                f"• {s.name}" if s.id == current_id else s.name,
                StaffOrderCb(order_id=order_id, action="set", arg=s.id),
            )
        ]
        for s in states
        if s.active
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def reply_button(_: Translate, event_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[_button(_("↩️ Reply"), StaffReplyCb(event_id=event_id))]]
    )


def order_text(_: Translate, order: Order, *, heading: str, customer: str | None, url: str) -> str:
    """Heading, customer, lines, total, state and the back-office link."""
    lines = [heading]
    if customer:
        lines.append(customer)
    for line in order.lines[:LINES_SHOWN]:
        lines.append(
            _(
                "• {name} × {quantity} = {amount}",
                name=line.name,
                quantity=qty(line.quantity),
                amount=rub(line.amount),
            )
        )
    if len(order.lines) > LINES_SHOWN:
        lines.append(_("… and {count} more", count=len(order.lines) - LINES_SHOWN))
    lines.append(_("Total: {total}", total=rub(order.total)))
    lines.append(
        _(
            "State: {state} · paid {paid}% · shipped {shipped}%",
            state=order.state.name,
            paid=paid_percent(order),
            shipped=shipped_percent(order),
        )
    )
    lines.append(url)
    return "\n".join(lines)


async def _customer_name(session: AsyncSession, customer_id: int | None) -> str | None:
    if customer_id is None:
        return None
    return await session.scalar(select(Customer.name).where(Customer.id == customer_id))


def staff_order_subscribers(
    sessions: async_sessionmaker[AsyncSession],
    *,
    office_url: str,
    clock: Clock | None = None,
    default_language: str = "ru",
    on_queued: Callable[[], None] | None = None,
) -> dict[str, list[Callable[..., Awaitable[None]]]]:
    """Topic → subscriber for the worker: new orders, payments, customers' messages."""

    def rang(count: int) -> None:
        if count and on_queued is not None:
            on_queued()

    async def order_event(event, heading_of) -> None:
        order_id = event.payload.get("order_id")
        if order_id is None:
            return
        queued = 0
        async with unit_of_work(sessions, actor=SYSTEM, clock=clock) as session:
            order = await get_order(session, order_id)
            customer = await _customer_name(session, order.customer_id)
            url = office_link(office_url, "orders", order.id)
            employees, _shared = await recipients(session, order.responsible_id)
            for employee in employees:
                language = language_of(employee, default_language)
                _ = translator(language)
                text = order_text(
                    _, order, heading=heading_of(_, event.payload), customer=customer, url=url
                )
                row = await queue(
                    session,
                    employee,
                    key=f"outbox:{event.id}",
                    topic=event.topic,
                    text=text,
                    markup=order_actions(_, order.id, pdf=order.total > 0),
                    language=language,
                    outbox_event_id=event.id,
                    order_id=order.id,
                )
                queued += row is not None
        rang(queued)

    def created_heading(_: Translate, p: dict) -> str:
        return _("🛒 New order {number} · {channel}", number=p["number"], channel=p["channel"])

    def paid_heading(_: Translate, p: dict) -> str:
        return _(
            "💰 Payment {amount} for order {number}",
            amount=rub(Decimal(str(p["amount"]))),
            number=p["number"],
        )

    def refund_heading(_: Translate, p: dict) -> str:
        return _(
            "↩️ Refund {amount} for order {number}",
            amount=rub(Decimal(str(p["amount"]))),
            number=p["number"],
        )

    async def order_created(event) -> None:
        await order_event(event, created_heading)

    async def payment_received(event) -> None:
        await order_event(event, paid_heading)

    async def payment_refunded(event) -> None:
        await order_event(event, refund_heading)

    def attention_heading(_: Translate, p: dict) -> str:
        return _(
            "⚠️ A Telegram payment of {amount} {currency} was charged but not applied: "
            "{reason}. Contact the customer.",
            amount=p.get("amount"),
            currency=p.get("currency") or "",
            reason=p.get("reason") or "—",
        )

    async def payment_needs_attention(event) -> None:
        """A charge Telegram took that no order could accept: every responsible person
        (or every manager) must see it, with the order when there is one."""
        if event.payload.get("order_id") is not None:
            await order_event(event, attention_heading)
            return
        queued = 0
        async with unit_of_work(sessions, actor=SYSTEM, clock=clock) as session:
            customer_id = event.payload.get("customer_id")
            customer = await session.get(Customer, customer_id) if customer_id else None
            employees, _shared = await recipients(
                session, customer.responsible_id if customer else None
            )
            for employee in employees:
                language = language_of(employee, default_language)
                _ = translator(language)
                lines = [attention_heading(_, event.payload)]
                if customer is not None:
                    lines += [customer.name, office_link(office_url, "customers", customer.id)]
                row = await queue(
                    session,
                    employee,
                    key=f"outbox:{event.id}",
                    topic=event.topic,
                    text="\n".join(lines),
                    markup=None,
                    language=language,
                    outbox_event_id=event.id,
                )
                queued += row is not None
        rang(queued)

    async def customer_message(event) -> None:
        p = event.payload
        customer_id, lead_id = p.get("customer_id"), p.get("lead_id")
        queued = 0
        async with unit_of_work(sessions, actor=SYSTEM, clock=clock) as session:
            responsible_id = None
            if customer_id is not None:
                customer = await session.get(Customer, customer_id)
                responsible_id = customer.responsible_id if customer else None
                url = office_link(office_url, "customers", customer_id)
            elif lead_id is not None:
                lead = await session.get(Lead, lead_id)
                responsible_id = lead.responsible_id if lead else None
                url = office_link(office_url, "leads", lead_id)
            else:
                return
            employees, _shared = await recipients(session, responsible_id)
            for employee in employees:
                language = language_of(employee, default_language)
                _ = translator(language)
                lines = [_("💬 {name} writes:", name=p.get("name") or "—")]
                if p.get("kind") == "photo":
                    lines.append(_("[photo]"))
                elif p.get("kind") == "document":
                    lines.append(_("[document]"))
                if p.get("text"):
                    lines.append(str(p["text"]))
                lines.append(url)
                row = await queue(
                    session,
                    employee,
                    key=f"outbox:{event.id}",
                    topic=event.topic,
                    text="\n".join(lines),
                    markup=reply_button(_, p["event_id"]) if p.get("event_id") else None,
                    language=language,
                    outbox_event_id=event.id,
                    lead_id=lead_id,
                )
                queued += row is not None
        rang(queued)

    return {
        "order.created": [order_created],
        "payment.received": [payment_received],
        "payment.refunded": [payment_refunded],
        "payment.needs_attention": [payment_needs_attention],
        "customer.message": [customer_message],
    }


class OverdueCheck:
    """Each order whose indicator turned ``overdue`` is told to its people once.

    Only orders due within ``window`` are looked at: an order overdue for months
    (imported history, the demo firm) is the journal's business, not a notification.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        office_url: str,
        clock: Clock | None = None,
        default_language: str = "ru",
        window: timedelta = timedelta(days=7),
        batch_size: int = 100,
    ) -> None:
        self.sessions, self.clock, self.office_url = sessions, clock, office_url
        self.default_language, self.window, self.batch_size = default_language, window, batch_size

    async def run_once(self) -> int:
        """Queue the newly overdue orders; returns how many messages were queued."""
        async with unit_of_work(self.sessions, actor=SYSTEM, clock=self.clock) as session:
            at = now(session)
            told = exists().where(
                StaffNotification.order_id == Order.id,
                StaffNotification.topic == OVERDUE_TOPIC,
            )
            ids = await session.scalars(
                select(Order.id)
                .where(
                    indicator_filter(OrderIndicator.OVERDUE, at),
                    Order.due_at >= at - self.window,
                    ~told,
                )
                .order_by(Order.due_at, Order.id)
                .limit(self.batch_size)
            )
            queued = 0
            for order_id in list(ids):
                queued += await self._queue(session, order_id)
            return queued

    async def _queue(self, session: AsyncSession, order_id: int) -> int:
        order = await get_order(session, order_id)
        customer = await _customer_name(session, order.customer_id)
        url = office_link(self.office_url, "orders", order.id)
        employees, _shared = await recipients(session, order.responsible_id)
        queued = 0
        for employee in employees:
            language = language_of(employee, self.default_language)
            _ = translator(language)
            due = order.due_at.astimezone(ZoneInfo(employee.timezone)).strftime("%d.%m %H:%M")
            heading = _("🔴 Order {number} is overdue (due {due})", number=order.number, due=due)
            text = order_text(_, order, heading=heading, customer=customer, url=url)
            row = await queue(
                session,
                employee,
                key=f"overdue:{order.id}",
                topic=OVERDUE_TOPIC,
                text=text,
                markup=order_actions(_, order.id, pdf=order.total > 0),
                language=language,
                order_id=order.id,
            )
            queued += row is not None
        return queued
