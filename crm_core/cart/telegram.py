"""Telegram users as the bot knows them: who they are in the CRM, their language,
whether Telegram still delivers to them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.models import ContactKind, ContactPoint, Customer, Lead, LeadResult, TelegramVisitor


@dataclass(frozen=True, slots=True)
class TelegramLink:
    """The customer and/or open lead holding a Telegram id, and the stored language."""

    customer_id: int | None
    lead_id: int | None
    language: str | None


async def find_telegram_link(session: AsyncSession, telegram_id: int) -> TelegramLink:
    """One round trip: owners of the Telegram contact point, plus the visitor's language.

    A customer wins over a lead (a converted lead's contacts are on the customer too);
    closed leads are ignored."""
    language = (
        select(TelegramVisitor.language)
        .where(TelegramVisitor.telegram_id == telegram_id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(ContactPoint.customer_id, ContactPoint.lead_id, Lead.result, language)
        .select_from(ContactPoint)
        .outerjoin(Lead, Lead.id == ContactPoint.lead_id)
        .where(ContactPoint.kind == ContactKind.TELEGRAM, ContactPoint.value == str(telegram_id))
        .order_by(ContactPoint.id)
    )
    customer_id = lead_id = None
    lang = None
    found = False
    for cust, lead, result, stored in rows:
        found, lang = True, stored
        if cust is not None and customer_id is None:
            customer_id = cust
        if lead is not None and lead_id is None and result == LeadResult.OPEN:
            lead_id = lead
    if not found:  # not linked yet: the language alone (the join above had no row)
        lang = await session.scalar(
            select(TelegramVisitor.language).where(TelegramVisitor.telegram_id == telegram_id)
        )
    return TelegramLink(customer_id, lead_id, lang)


async def set_language(session: AsyncSession, telegram_id: int, language: str) -> None:
    """Remember the language a Telegram user chose (``/language``)."""
    at = now(session)
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(TelegramVisitor).values(
        telegram_id=telegram_id, language=language, created_at=at, updated_at=at
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["telegram_id"], set_={"language": language, "updated_at": at}
        )
    )


async def customer_telegram_ids(session: AsyncSession, customer_id: int) -> list[int]:
    """The Telegram ids a reachable customer is linked to (empty when marked unreachable)."""
    rows = await session.scalars(
        select(ContactPoint.value)
        .join(Customer, Customer.id == ContactPoint.customer_id)
        .where(
            ContactPoint.customer_id == customer_id,
            ContactPoint.kind == ContactKind.TELEGRAM,
            Customer.telegram_unreachable.is_(False),
        )
        .order_by(ContactPoint.id)
    )
    return [int(v) for v in rows if v.isdigit()]


async def set_telegram_unreachable(
    session: AsyncSession, telegram_id: int, unreachable: bool = True
) -> int:
    """Mark the customers linked to a Telegram id (un)reachable; returns how many changed."""
    owners = select(ContactPoint.customer_id).where(
        ContactPoint.kind == ContactKind.TELEGRAM,
        ContactPoint.value == str(telegram_id),
        ContactPoint.customer_id.is_not(None),
    )
    result = await session.execute(
        update(Customer)
        .where(Customer.id.in_(owners), Customer.telegram_unreachable.is_not(unreachable))
        .values(telegram_unreachable=unreachable)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
