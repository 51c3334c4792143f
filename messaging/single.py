"""Single sends by SMS and Telegram: one message (a template rendered for the
customer, or a manager's own text) to one customer, recorded as an ``sms`` /
``telegram`` event on their card with the delivery status.

As with letters, the message leaves before the caller commits; a manager's click
is not a campaign, and a lost event after a sent message is accepted.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.cart.telegram import customer_telegram_ids, set_telegram_unreachable
from crm_core.context import now
from crm_core.errors import ValidationFailed
from crm_core.events.service import create_event
from crm_core.models import Direction, Event, EventKind, EventState, TemplateKind
from messaging.context import build_context
from messaging.outcome import SendResult
from messaging.sms import SmsProvider, count_segments
from messaging.sms_reports import expect_reports, report_row
from messaging.telegram import TelegramSender
from messaging.templates import get_template, render_with

MAX_TEXT = 4096  # Telegram's limit; an SMS of that length is 62 parts already


async def _text(
    session: AsyncSession,
    kind: TemplateKind,
    *,
    customer_id: int,
    template_id: int | None,
    text: str | None,
    order_id: int | None,
) -> tuple[str, dict[str, Any]]:
    context = await build_context(session, customer_id=customer_id, order_id=order_id)
    if (template_id is None) == (text is None):
        raise ValidationFailed("Give either a template or a text", field="template_id")
    if template_id is not None:
        template = await get_template(session, template_id)
        if template.kind != kind:
            raise ValidationFailed(
                f"A {template.kind} template cannot be sent as {kind}", field="template_id"
            )
        text = render_with(template, context).text
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("The message is empty", field="text")
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"The message is longer than {MAX_TEXT} characters", field="text")
    return text, context


async def _record(
    session: AsyncSession,
    kind: EventKind,
    *,
    customer_id: int,
    order_id: int | None,
    text: str,
    to: str,
    result: SendResult,
    template_id: int | None,
    extra: dict[str, Any],
) -> Event:
    status = "sent" if result.ok else ("skipped" if result.unreachable else "failed")
    return await create_event(
        session,
        kind=kind,
        state=EventState.COMPLETED if result.ok else EventState.CANCELLED,
        direction=Direction.OUTGOING,
        subject=text.splitlines()[0][:300],
        body=text,
        customer_id=customer_id,
        order_id=order_id,
        data={
            "delivery_status": status,
            "to": to,
            "message_id": result.message_id,
            "detail": result.detail[:1000],
            "template_id": template_id,
            **extra,
        },
    )


async def send_sms(
    session: AsyncSession,
    provider: SmsProvider,
    *,
    customer_id: int,
    template_id: int | None = None,
    text: str | None = None,
    order_id: int | None = None,
) -> Event:
    """Send one SMS to the customer's first phone; an ``sms`` event records it."""
    text, context = await _text(
        session,
        TemplateKind.SMS,
        customer_id=customer_id,
        template_id=template_id,
        text=text,
        order_id=order_id,
    )
    phone = context["customer"]["phone"]
    if not phone:
        raise ValidationFailed("The customer has no phone number", field="customer_id")
    result = await provider.send(phone, text)
    parts = count_segments(text)
    event = await _record(
        session,
        EventKind.SMS,
        customer_id=customer_id,
        order_id=order_id,
        text=text,
        to=phone,
        result=result,
        template_id=template_id,
        extra={"segments": parts.count, "encoding": parts.encoding},
    )
    if result.ok and result.message_id:  # the operator's answer comes later
        await session.flush()
        row = report_row(provider.name, result.message_id, phone, now(session), event_id=event.id)
        await expect_reports(session, [row])
    return event


async def send_telegram(
    session: AsyncSession,
    sender: TelegramSender,
    *,
    customer_id: int,
    template_id: int | None = None,
    text: str | None = None,
    order_id: int | None = None,
) -> Event:
    """Send one Telegram message to a customer who started the bot; a ``telegram``
    event records it. A customer who blocked the bot is marked unreachable."""
    text, _context = await _text(
        session,
        TemplateKind.TELEGRAM,
        customer_id=customer_id,
        template_id=template_id,
        text=text,
        order_id=order_id,
    )
    chats = await customer_telegram_ids(session, customer_id)
    if not chats:
        raise ValidationFailed(
            "The customer has not started the bot (or blocked it)", field="customer_id"
        )
    result = await sender.send(chats[0], text)
    if result.retry_after is not None:  # one wait, then one more try
        await asyncio.sleep(min(result.retry_after, 5.0))
        result = await sender.send(chats[0], text)
    if result.unreachable:
        await set_telegram_unreachable(session, chats[0])
    return await _record(
        session,
        EventKind.TELEGRAM,
        customer_id=customer_id,
        order_id=order_id,
        text=text,
        to=str(chats[0]),
        result=result,
        template_id=template_id,
        extra={},
    )
