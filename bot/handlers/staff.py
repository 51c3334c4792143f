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
from bot.filters import Is
from bot.handlers.common import show
from bot.i18n import COMMANDS, N_, Translate, translator
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
    """Passes a bound employee's updates, adding ``employee`` and their ``_``; from
    then on the unit of work acts as that employee (history shows who did it)."""

    async def __call__(self, event: TelegramObject, **data) -> bool | dict:
        user, session = data.get("event_from_user"), data.get("session")
        if user is None or session is None:
            return False
        employee = await bound_employee(session, user.id)
        if employee is None:
            return False
        session.info["actor"] = Actor(ActorKind.EMPLOYEE, employee.id, employee.name)
        return {"employee": employee, "_": translator(employee.language)}


async def register_commands(bot: Bot, chat_id: int, language: str) -> None:
    """The customer commands plus the manager ones, for this employee's chat only."""
    _ = translator(language)
    commands = [
        BotCommand(command=c, description=_(COMMANDS[c]))
        for c in (*MANAGER_COMMANDS, *CUSTOMER_COMMANDS)
    ]
    await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=chat_id))


async def bind(
    message: Message, command: CommandObject, session: AsyncSession, _: Translate, bot: Bot
) -> None:
    code = (command.args or "").strip().removeprefix(CODE_PREFIX)
    try:
        employee = await redeem_invite(session, code=code, telegram_user_id=message.from_user.id)
    except InviteUsed:
        await message.answer(_("This invite link was already used."))
        return
    except InviteExpired:
        await message.answer(_("This invite link has expired; ask for a new one."))
        return
    except (NotFound, Conflict):
        await message.answer(_("This invite link is not valid."))
        return
    name, language = employee.name, employee.language
    await session.commit()
    await register_commands(bot, message.chat.id, language)
    _ = translator(language)
    await message.answer(
        _(
            "Done, {name}: this Telegram account is bound to your Firma account. "
            "New leads and reminders will come here.\n"
            "/today — today's plan, /leads — unprocessed leads.",
            name=name,
        )
    )


def _office(config: BotConfig | None) -> str:
    return (config.public_url or "") if config else ""


def _summary(_: Translate, lead: Lead, config: BotConfig | None, footer: str) -> str:
    by_kind = {k: [c.value for c in lead.contacts if c.kind == k] for k in ContactKind}
    return lead_text(
        _,
        repeat=False,
        source=lead.source.value,
        name=lead.name,
        phones=by_kind[ContactKind.PHONE],
        emails=by_kind[ContactKind.EMAIL],
        url=office_link(_office(config), "leads", lead.id),
        footer=footer,
    )


LEAD_RESULTS = {
    LeadResult.CONVERTED: N_("converted to a customer"),
    LeadResult.HIDDEN: N_("hidden"),
    LeadResult.OPEN: N_("open"),
}


def _closed(_: Translate, result: LeadResult) -> str:
    return _("The lead is already {result}.", result=_(LEAD_RESULTS[result]))


async def _take(query, lead_id, session, employee: Employee, _, config) -> None:
    outcome = await take_lead(session, lead_id, employee_id=employee.id)
    if outcome.result != LeadResult.OPEN:
        await query.answer(_closed(_, outcome.result), show_alert=True)
        return
    lead = await get_lead(session, lead_id)
    if not outcome.taken and outcome.responsible and outcome.responsible.id != employee.id:
        # A stale press: someone was quicker. Say so, and fix this message too.
        who = outcome.responsible.name
        await query.answer(_("{name} has already taken this lead.", name=who), show_alert=True)
        await show(query, _summary(_, lead, config, _("👤 Taken by {name}", name=who)))
        return
    others = [m for m in await lead_messages(session, lead_id) if m.employee_id != employee.id]
    languages = {m.id: (await session.get(Employee, m.employee_id)).language for m in others}
    await session.commit()  # the lead is ours before anyone is told
    await query.answer(_("👤 In work: yours") if outcome.taken else _("The lead is already yours."))
    await show(
        query,
        _summary(_, lead, config, _("👤 In work: yours")),
        lead_actions(_, lead_id, take=False),
    )
    for m in others:
        other_tr = translator(languages[m.id])
        text = _summary(other_tr, lead, config, other_tr("👤 Taken by {name}", name=employee.name))
        # Deleted or too old to edit: the lead is taken all the same.
        with contextlib.suppress(TelegramAPIError):
            await query.bot.edit_message_text(text, chat_id=m.chat_id, message_id=m.message_id)


async def lead_action(
    query: CallbackQuery,
    callback_data: StaffLeadCb,
    session: AsyncSession,
    employee: Employee,
    _: Translate,
    config: BotConfig | None = None,
) -> None:
    lead_id, action = callback_data.lead_id, callback_data.action
    try:
        if action == "take":
            await _take(query, lead_id, session, employee, _, config)
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
                _("✅ Customer and order {number} created: {url}", number=order.number, url=url)
                if order is not None
                else _("✅ Customer created: {url}", url=url)
            )
        elif action == "hr":
            lead = await hide_lead(session, lead_id, reason=callback_data.arg)
            reason = next(
                r.name for r in await list_hide_reasons(session) if r.id == callback_data.arg
            )
            footer = _("🙈 Lead hidden: {reason}", reason=reason)
        else:
            await query.answer(_("This button is outdated."))
            return
    except NotFound:
        await query.answer(_("Not found."))
        return
    except Conflict:
        # A stale button: tell what happened instead of doing it twice.
        await session.rollback()
        lead = await session.get(Lead, lead_id, populate_existing=True)
        await query.answer(_closed(_, lead.result), show_alert=True)
        return
    lead = await get_lead(session, lead_id)
    await session.commit()
    await query.answer(footer.splitlines()[0][:200])
    await show(query, _summary(_, lead, config, footer))


def make_bind_router() -> Router:
    """Reached by anyone: the invite is what makes them staff."""
    router = Router(name="staff-bind")
    router.message.register(bind, CommandStart(), Is(F.text.regexp(rf"^/start {CODE_PREFIX}")))
    return router


def make_router() -> Router:
    router = Router(name="staff")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    # "Call back…" (cb, cb1, cbt, cbc) lives in staff_callback.
    router.callback_query.register(lead_action, StaffLeadCb.filter(~F.action.startswith("cb")))
    return router


def staff_routers() -> list[Router]:
    from bot.handlers import (
        staff_callback,
        staff_find,
        staff_orders,
        staff_reminders,
        staff_today,
    )

    staff = make_router()
    staff.include_routers(
        staff_reminders.make_router(),
        staff_today.make_router(),
        staff_orders.make_router(),
        staff_callback.make_router(),
        staff_find.make_router(),
    )
    return [make_bind_router(), staff]
