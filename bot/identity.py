"""Who is writing: the Telegram user, the customer or lead they are linked to, and
the use cases that link them (through the core's lead intake and lead conversion)."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import User
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cache import TtlCache
from bot.i18n import pick_language
from crm_core.cart.telegram import TelegramLink, find_telegram_link
from crm_core.customers.service import add_contact_point
from crm_core.errors import Conflict
from crm_core.leads.service import convert_lead, intake_lead
from crm_core.models import LeadSource


@dataclass(slots=True)
class Who:
    telegram_id: int
    name: str
    username: str | None
    language: str
    customer_id: int | None = None
    lead_id: int | None = None
    employee_id: int | None = None  # a bound, active employee (the managers' routers)

    @property
    def linked(self) -> bool:
        return self.customer_id is not None or self.lead_id is not None


async def resolve(
    session: AsyncSession,
    user: User,
    *,
    default_language: str,
    cache: TtlCache[int, TelegramLink] | None = None,
    cached_ok: bool = False,
) -> Who:
    """Who is writing: one query (``find_telegram_link``), or none when ``cached_ok``
    and the cache still holds this user (see ``bot/cache.py``: browsing only). A fresh
    read refreshes the cache."""
    link = cache.get(user.id) if cache is not None and cached_ok else None
    if link is None:
        link = await find_telegram_link(session, user.id)
        if cache is not None:
            cache.put(user.id, link)
    return Who(
        telegram_id=user.id,
        name=user.full_name[:200],
        username=user.username,
        language=pick_language(link.language, user.language_code, default=default_language),
        customer_id=link.customer_id,
        lead_id=link.lead_id,
        employee_id=link.employee_id,
    )


def phone_from_contact(raw: str) -> str:
    """Telegram sends numbers as bare digits ("79161234567"): read them as international."""
    text = raw.strip()
    return text if text.startswith("+") else "+" + text


async def record_intake(
    session: AsyncSession, who: Who, *, phone: str | None = None, payload: str | None = None
) -> None:
    """A shared phone or a deep-link visit: the core merges it into the customer or open
    lead holding the phone/Telegram id, or makes a new lead (source ``telegram``)."""
    if who.customer_id is not None and phone:
        await add_contact_point(session, who.customer_id, kind="phone", value=phone)
        return
    result = await intake_lead(
        session,
        name=who.name,
        phones=[phone] if phone else [],
        telegram_id=who.telegram_id,
        telegram_username=who.username,
        source=LeadSource.TELEGRAM,
        source_detail=payload,
        comment=None,
        data={"deep_link": payload} if payload else None,
    )
    if result.customer is not None:
        who.customer_id, who.lead_id = result.customer.id, None
    elif result.lead is not None:
        who.lead_id = result.lead.id


async def ensure_customer(session: AsyncSession, who: Who) -> int:
    """The customer to order for: a linked lead is converted (once) by the core."""
    if who.customer_id is not None:
        return who.customer_id
    if who.lead_id is None:
        raise Conflict("Share your contact first")
    customer, _ = await convert_lead(session, who.lead_id)
    who.customer_id, who.lead_id = customer.id, None
    return customer.id
