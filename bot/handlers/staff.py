"""Managers in the bot: binding by invite (``/start emp_<code>``), the ``IsStaff`` gate,
and the one-tap lead actions under a notification (Take, Convert, Convert + order, Hide).

Only bound, active employees pass ``IsStaff``; anyone else's manager command or button
falls through to the customer routers (an unknown command, an "outdated" button).
"""

from __future__ import annotations

import contextlib

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import CommandObject, CommandStart, Filter
from aiogram.types import BotCommand, BotCommandScopeChat, CallbackQuery, Message, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import BotConfig
from bot.handlers.common import show
from bot.i18n import Translate, translator
from bot.staff_keyboards import StaffLeadCb, hide_reasons, lead_actions, lead_text
from bot.staff_notify import office_link
from crm_core.context import Actor, ActorKind
from crm_core.employees.invites import (
    CODE_PREFIX,
    InviteExpired,
    InviteUsed,
    bound_employee,
    redeem_invite,
)
from crm_core.errors import Conflict, NotFound
from crm_core.leads.service import convert_lead, get_lead, hide_lead
from crm_core.leads.states import list_hide_reasons
from crm_core.models import ContactKind, Employee, Lead, LeadResult
from crm_core.notifications.actions import take_lead
from crm_core.notifications.service import lead_messages

CUSTOMER_COMMANDS = ("start", "catalog", "cart", "orders", "help", "language")
MANAGER_COMMANDS = ("today", "leads", "tasks", "find")


class IsStaff(Filter):
    """Passes a bound employee's updates, adding ``employee`` and their ``tr``; from
    then on the unit of work acts as that employee (history shows who did it)."""

    async def __call__(self, event: TelegramObject, **data) -> bool | dict:
        user, session = data.get("event_from_user"), data.get("session")
        if user is None or session is None:
            return False
        employee = await bound_employee(session, user.id)
        if employee is None:
            return False
        session.info["actor"] = Actor(ActorKind.EMPLOYEE, employee.id, employee.name)
        return {"employee": employee, "tr": translator(employee.language)}


async def register_commands(bot: Bot, chat_id: int, language: str) -> None:
    """The customer commands plus the manager ones, for this employee's chat only."""
    tr = translator(language)
    commands = [
        BotCommand(command=c, description=tr(f"cmd_{c}"))
        for c in (*MANAGER_COMMANDS, *CUSTOMER_COMMANDS)
    ]
    await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=chat_id))


async def bind(
    message: Message, command: CommandObject, session: AsyncSession, tr: Translate, bot: Bot
) -> None:
    code = (command.args or "").strip().removeprefix(CODE_PREFIX)
    try:
        employee = await redeem_invite(session, code=code, telegram_user_id=message.from_user.id)
    except InviteUsed:
        await message.answer(tr("emp_invite_used"))
        return
    except InviteExpired:
        await message.answer(tr("emp_invite_expired"))
        return
    except (NotFound, Conflict):
        await message.answer(tr("emp_invite_invalid"))
        return
    name, language = employee.name, employee.language
    await session.commit()
    await register_commands(bot, message.chat.id, language)
    await message.answer(translator(language)("emp_bound", name=name))


def _office(config: BotConfig | None) -> str:
    return (config.public_url or "") if config else ""


def _summary(tr: Translate, lead: Lead, config: BotConfig | None, footer: str) -> str:
    by_kind = {k: [c.value for c in lead.contacts if c.kind == k] for k in ContactKind}
    return lead_text(
        tr,
        repeat=False,
        source=lead.source.value,
        name=lead.name,
        phones=by_kind[ContactKind.PHONE],
        emails=by_kind[ContactKind.EMAIL],
        url=office_link(_office(config), "leads", lead.id),
        footer=footer,
    )


def _closed(tr: Translate, result: LeadResult) -> str:
    return tr("lead_closed", result=tr(f"result_{result.value}"))


async def _take(query, lead_id, session, employee: Employee, tr, config) -> None:
    outcome = await take_lead(session, lead_id, employee_id=employee.id)
    if outcome.result != LeadResult.OPEN:
        await query.answer(_closed(tr, outcome.result), show_alert=True)
        return
    lead = await get_lead(session, lead_id)
    if not outcome.taken and outcome.responsible and outcome.responsible.id != employee.id:
        # A stale press: someone was quicker. Say so, and fix this message too.
        who = outcome.responsible.name
        await query.answer(tr("lead_stale_taken", name=who), show_alert=True)
        await show(query, _summary(tr, lead, config, tr("lead_taken_by", name=who)))
        return
    others = [m for m in await lead_messages(session, lead_id) if m.employee_id != employee.id]
    languages = {m.id: (await session.get(Employee, m.employee_id)).language for m in others}
    await session.commit()  # the lead is ours before anyone is told
    await query.answer(tr("lead_yours") if outcome.taken else tr("lead_already_yours"))
    await show(
        query, _summary(tr, lead, config, tr("lead_yours")), lead_actions(tr, lead_id, take=False)
    )
    for m in others:
        other_tr = translator(languages[m.id])
        text = _summary(other_tr, lead, config, other_tr("lead_taken_by", name=employee.name))
        # Deleted or too old to edit: the lead is taken all the same.
        with contextlib.suppress(TelegramAPIError):
            await query.bot.edit_message_text(text, chat_id=m.chat_id, message_id=m.message_id)


async def lead_action(
    query: CallbackQuery,
    callback_data: StaffLeadCb,
    session: AsyncSession,
    employee: Employee,
    tr: Translate,
    config: BotConfig | None = None,
) -> None:
    lead_id, action = callback_data.lead_id, callback_data.action
    try:
        if action == "take":
            await _take(query, lead_id, session, employee, tr, config)
            return
        if action == "hide":
            reasons = [(r.id, r.name) for r in await list_hide_reasons(session)]
            await query.answer()
            await query.message.edit_reply_markup(reply_markup=hide_reasons(lead_id, reasons))
            return
        if action in ("conv", "convo"):
            customer, order = await convert_lead(session, lead_id, create_order=action == "convo")
            url = office_link(_office(config), "customers", customer.id)
            footer = (
                tr("lead_converted_order", number=order.number, url=url)
                if order is not None
                else tr("lead_converted", url=url)
            )
        elif action == "hr":
            lead = await hide_lead(session, lead_id, reason=callback_data.arg)
            reason = next(
                r.name for r in await list_hide_reasons(session) if r.id == callback_data.arg
            )
            footer = tr("lead_hidden", reason=reason)
        else:
            await query.answer(tr("outdated"))
            return
    except NotFound:
        await query.answer(tr("not_found"))
        return
    except Conflict:
        # A stale button: tell what happened instead of doing it twice.
        await session.rollback()
        lead = await session.get(Lead, lead_id, populate_existing=True)
        await query.answer(_closed(tr, lead.result), show_alert=True)
        return
    lead = await get_lead(session, lead_id)
    await session.commit()
    await query.answer(footer.splitlines()[0][:200])
    await show(query, _summary(tr, lead, config, footer))


def make_bind_router() -> Router:
    """Reached by anyone: the invite is what makes them staff."""
    router = Router(name="staff-bind")
    router.message.register(bind, CommandStart(), F.text.regexp(rf"^/start {CODE_PREFIX}"))
    return router


def make_router() -> Router:
    router = Router(name="staff")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.callback_query.register(lead_action, StaffLeadCb.filter())
    return router


def staff_routers() -> list[Router]:
    from bot.handlers import staff_reminders, staff_today

    staff = make_router()
    staff.include_routers(staff_reminders.make_router(), staff_today.make_router())
    return [make_bind_router(), staff]
