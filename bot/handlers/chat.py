"""Chat with the firm: a customer's free text, photo or document becomes a ``telegram``
event on their card and a ``customer.message`` outbox event for the managers' side."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import Is
from bot.i18n import Translate
from bot.identity import Who, record_intake
from crm_core.events.service import create_event
from crm_core.models import Direction, EventKind, EventState
from crm_core.outbox import emit

SUBJECT = "Сообщение в Telegram"
PREVIEW = 500


def _content(message: Message) -> tuple[str, str | None, str | None]:
    """(kind, text, Telegram file id) of a message the chat accepts."""
    if message.photo:
        return "photo", message.caption, message.photo[-1].file_id
    if message.document:
        return "document", message.caption, message.document.file_id
    return "text", message.text, None


async def to_firm(message: Message, session: AsyncSession, who: Who, _: Translate) -> None:
    if not who.linked:
        # A stranger who writes is a lead: the message must land on somebody's card.
        await record_intake(session, who)
    kind, text, file_id = _content(message)
    data = {"telegram_id": who.telegram_id, "message_id": message.message_id, "kind": kind}
    if file_id:
        data["file_id"] = file_id
        if message.document and message.document.file_name:
            data["file_name"] = message.document.file_name[:200]
    event = await create_event(
        session,
        kind=EventKind.TELEGRAM,
        state=EventState.COMPLETED,
        direction=Direction.INCOMING,
        subject=SUBJECT,
        body=text,
        data=data,
        customer_id=who.customer_id,
        lead_id=None if who.customer_id else who.lead_id,
    )
    emit(
        session,
        "customer.message",
        {
            "event_id": event.id,
            "customer_id": who.customer_id,
            "lead_id": None if who.customer_id else who.lead_id,
            "telegram_id": who.telegram_id,
            "name": who.name,
            "kind": kind,
            "text": (text or "")[:PREVIEW],
        },
    )
    await session.commit()
    await message.answer(_("Your message is with a manager, who will answer here."))


async def _free_text(message: Message) -> bool:
    return bool(message.text) and not message.text.startswith("/")


def make_router() -> Router:
    router = Router(name="chat")
    router.message.register(to_firm, _free_text)
    router.message.register(to_firm, Is(F.photo | F.document))
    return router
