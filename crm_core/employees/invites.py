"""Binding an employee's Telegram account with a one-time invite code.

``create_invite`` issues a random code (shown once, kept hashed) valid for 24 hours;
``redeem_invite`` spends it with a conditional UPDATE, so of two people opening the
same link only the first is bound. Manager functions in the bot find the employee
by ``Employee.telegram_user_id`` through ``bound_employee``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.contacts import normalize_email
from crm_core.context import now
from crm_core.errors import Conflict, NotFound
from crm_core.models import Employee, EmployeeInvite

INVITE_TTL = timedelta(hours=24)
CODE_PREFIX = "emp_"


class InviteUsed(Conflict):
    pass


class InviteExpired(Conflict):
    pass


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    code: str  # the only time the plain code exists
    employee_id: int
    expires_at: datetime


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def create_invite(session: AsyncSession, *, email: str) -> IssuedInvite:
    """A new single-use code for the active employee with this email."""
    employee = await session.scalar(
        select(Employee).where(Employee.email == normalize_email(email))
    )
    if employee is None or not employee.active:
        raise NotFound(f"No active employee with email {email}")
    # 128 random bits in Telegram's start-parameter alphabet (A-Z a-z 0-9 _ -).
    code = secrets.token_urlsafe(16)
    at = now(session)
    session.add(
        EmployeeInvite(
            employee_id=employee.id,
            code_hash=_hash(code),
            created_at=at,
            expires_at=at + INVITE_TTL,
        )
    )
    await session.flush()
    return IssuedInvite(code, employee.id, at + INVITE_TTL)


async def redeem_invite(session: AsyncSession, *, code: str, telegram_user_id: int) -> Employee:
    """Bind ``telegram_user_id`` to the invite's employee; a used, expired or unknown
    code is refused with a message saying which."""
    at = now(session)
    digest = _hash(code)
    won = await session.execute(
        update(EmployeeInvite)
        .where(
            EmployeeInvite.code_hash == digest,
            EmployeeInvite.used_at.is_(None),
            EmployeeInvite.expires_at > at,
        )
        .values(used_at=at, used_by_telegram_id=telegram_user_id)
        .returning(EmployeeInvite.employee_id)
        .execution_options(synchronize_session=False)
    )
    employee_id = won.scalar()
    if employee_id is None:
        invite = await session.scalar(
            select(EmployeeInvite).where(EmployeeInvite.code_hash == digest)
        )
        if invite is None:
            raise NotFound("This invite link is not valid")
        if invite.used_at is not None:
            raise InviteUsed("This invite link was already used")
        raise InviteExpired("This invite link has expired; ask for a new one")
    employee = await session.get(Employee, employee_id, populate_existing=True)
    if employee is None or not employee.active:
        raise Conflict("This employee account is not active")
    # One Telegram account is one employee: a re-bind moves it (the column is unique).
    await session.execute(
        update(Employee)
        .where(Employee.telegram_user_id == telegram_user_id, Employee.id != employee_id)
        .values(telegram_user_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    employee.telegram_user_id = telegram_user_id
    employee.telegram_unreachable = False
    await session.flush()
    return employee


async def bound_employee(session: AsyncSession, telegram_user_id: int) -> Employee | None:
    """The active employee bound to this Telegram account, or None."""
    return await session.scalar(
        select(Employee).where(
            Employee.telegram_user_id == telegram_user_id, Employee.active.is_(True)
        )
    )


async def bound_employees(session: AsyncSession) -> list[Employee]:
    """Active employees the bot can reach (bound, not blocked), in a stable order."""
    rows = await session.scalars(
        select(Employee)
        .where(
            Employee.active.is_(True),
            Employee.telegram_user_id.is_not(None),
            Employee.telegram_unreachable.is_(False),
        )
        .order_by(Employee.id)
    )
    return list(rows)


async def set_employee_unreachable(session: AsyncSession, telegram_user_id: int) -> None:
    """The employee blocked the bot (403): shown in the back office, not sent to again."""
    await session.execute(
        update(Employee)
        .where(Employee.telegram_user_id == telegram_user_id)
        .values(telegram_unreachable=True)
        .execution_options(synchronize_session=False)
    )
