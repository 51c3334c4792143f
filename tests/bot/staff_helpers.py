"""Managers for the staff tests: employees made through the core, bound by invite."""

from __future__ import annotations

from crm_core.employees.invites import CODE_PREFIX, create_invite
from crm_core.employees.service import create_employee
from crm_core.outbox import OutboxRelay
from tests.bot.people import TgUser

OFFICE = "https://crm.example.ru"


async def bind_manager(telegram, uow, user: TgUser, *, name: str, email: str) -> int:
    """A new employee whose Telegram is ``user``, bound the way a person does it."""
    async with uow() as s:
        employee = await create_employee(s, name=name, email=email)
        issued = await create_invite(s, email=email)
    await telegram.feed(user.says(f"/start {CODE_PREFIX}{issued.code}"))
    return employee.id


def staff_relay(telegram, sessions, clock) -> OutboxRelay:
    from bot.staff_notify import staff_subscribers

    subs = staff_subscribers(telegram.bot, sessions, office_url=OFFICE, clock=clock)
    return OutboxRelay(sessions, subs, clock=clock)


async def drain(relay: OutboxRelay) -> None:
    while await relay.run_once():
        pass
