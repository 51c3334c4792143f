"""Managers for the staff tests: employees made through the core, bound by invite;
the worker's staff parts (outbox relay, planners, the sender) pointed at the fake."""

from __future__ import annotations

from crm_core.employees.invites import CODE_PREFIX, create_invite
from crm_core.employees.service import create_employee
from crm_core.outbox import OutboxRelay
from tests.bot.people import TgUser

OFFICE = "https://crm.example.ru"


async def bind_manager(
    telegram, uow, user: TgUser, *, name: str, email: str, language: str = "ru", **extra
) -> int:
    """A new employee whose Telegram is ``user``, bound the way a person does it."""
    async with uow() as s:
        employee = await create_employee(s, name=name, email=email, language=language, **extra)
        issued = await create_invite(s, email=email)
    await telegram.feed(user.says(f"/start {CODE_PREFIX}{issued.code}"))
    return employee.id


def staff_relay(telegram, sessions, clock) -> OutboxRelay:
    from bot.staff_notify import staff_subscribers
    from bot.staff_orders import staff_order_subscribers
    from firma.worker import merge_subscribers

    subs = merge_subscribers(
        staff_subscribers(telegram.bot, sessions, office_url=OFFICE, clock=clock),
        staff_order_subscribers(sessions, office_url=OFFICE, clock=clock),
    )
    return OutboxRelay(sessions, subs, clock=clock)


def staff_sender(telegram, sessions, clock, **options):
    from bot.staff_rate import LocalRate
    from bot.staff_sender import StaffSender

    options.setdefault("rate", LocalRate(10_000))
    return StaffSender(telegram.bot, sessions, clock=clock, **options)


async def drain(relay: OutboxRelay, sender=None) -> None:
    """Deliver every pending outbox event, then send what the planners queued."""
    while await relay.run_once():
        pass
    if sender is not None:
        while await sender.run_once():
            pass
