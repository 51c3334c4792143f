"""Telegram users as the bot knows them: who they are in the CRM, their language,
whether Telegram still delivers to them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, String, bindparam, cast, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.context import now
from crm_core.models import (
    ContactKind,
    ContactPoint,
    Customer,
    Employee,
    Lead,
    LeadResult,
    TelegramVisitor,
)


@dataclass(frozen=True, slots=True)
class TelegramLink:
    """The customer and/or open lead holding a Telegram id, the stored language, and the
    active employee bound to that Telegram account (managers use the same bot)."""

    customer_id: int | None
    lead_id: int | None
    language: str | None
    employee_id: int | None = None


def _link_query():
    """The statement of ``find_telegram_link``, built once (it runs for every update)."""
    telegram_id = bindparam("telegram_id", type_=BigInteger)
    own = (ContactPoint.kind == ContactKind.TELEGRAM) & (
        ContactPoint.value == bindparam("value", type_=String)
    )
    customer = (
        select(ContactPoint.customer_id)
        .where(own, ContactPoint.customer_id.is_not(None))
        .order_by(ContactPoint.id)
        .limit(1)
        .scalar_subquery()
    )
    lead = (
        select(ContactPoint.lead_id)
        .join(Lead, Lead.id == ContactPoint.lead_id)
        .where(own, Lead.result == LeadResult.OPEN)
        .order_by(ContactPoint.id)
        .limit(1)
        .scalar_subquery()
    )
    language = (
        select(TelegramVisitor.language)
        .where(TelegramVisitor.telegram_id == telegram_id)
        .scalar_subquery()
    )
    employee = (
        select(Employee.id)
        .where(Employee.telegram_user_id == telegram_id, Employee.active.is_(True))
        .limit(1)
        .scalar_subquery()
    )
    return select(customer, lead, language, employee)


_LINK = _link_query()


async def find_telegram_link(session: AsyncSession, telegram_id: int) -> TelegramLink:
    """Everything the bot needs to know of a sender, in one round trip (it runs for every
    update): four indexed scalar look-ups in one SELECT.

    A customer wins over a lead (a converted lead's contacts are on the customer too);
    closed leads are ignored."""
    params = {"telegram_id": telegram_id, "value": str(telegram_id)}
    return TelegramLink(*(await session.execute(_LINK, params)).one())


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


async def customer_chats(session: AsyncSession, customer_id: int) -> list[tuple[int, str | None]]:
    """(Telegram id, stored language) of each chat a reachable customer is linked to."""
    rows = await session.execute(
        select(ContactPoint.value, TelegramVisitor.language)
        .join(Customer, Customer.id == ContactPoint.customer_id)
        .outerjoin(
            TelegramVisitor,
            cast(TelegramVisitor.telegram_id, String) == ContactPoint.value,
        )
        .where(
            ContactPoint.customer_id == customer_id,
            ContactPoint.kind == ContactKind.TELEGRAM,
            Customer.telegram_unreachable.is_(False),
        )
        .order_by(ContactPoint.id)
    )
    return [(int(value), language) for value, language in rows if value.isdigit()]


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
