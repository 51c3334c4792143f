"""Managers' buttons and the compact texts they sit under.

Callback prefixes ``sl`` (a lead) and ``sr`` (a reminder) are the managers' own; the
handlers behind them re-check that the presser is a bound employee, so a forged
payload from a customer reaches nothing (the fallback answers "outdated").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translate

ANSWERS_SHOWN = 10


class StaffLeadCb(CallbackData, prefix="sl"):
    lead_id: int
    action: str  # take, conv, convo (with an order), hide (pick a reason), hr (hide: reason)
    arg: int = 0  # hr: the hide reason id


class StaffReminderCb(CallbackData, prefix="sr"):
    kind: str  # e: event, t: task
    item_id: int
    action: str  # done, s15, s60


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def lead_actions(tr: Translate, lead_id: int, *, take: bool = True) -> InlineKeyboardMarkup:
    rows = []
    if take:
        rows.append([_button(tr("btn_take"), StaffLeadCb(lead_id=lead_id, action="take"))])
    rows.append(
        [
            _button(tr("btn_convert"), StaffLeadCb(lead_id=lead_id, action="conv")),
            _button(tr("btn_convert_order"), StaffLeadCb(lead_id=lead_id, action="convo")),
        ]
    )
    rows.append([_button(tr("btn_hide"), StaffLeadCb(lead_id=lead_id, action="hide"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def hide_reasons(lead_id: int, reasons: Iterable[tuple[int, str]]) -> InlineKeyboardMarkup:
    rows = [
        [_button(name, StaffLeadCb(lead_id=lead_id, action="hr", arg=reason_id))]
        for reason_id, name in reasons
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def reminder_actions(tr: Translate, kind: str, item_id: int) -> InlineKeyboardMarkup:
    k = "e" if kind == "event" else "t"
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(tr("btn_done"), StaffReminderCb(kind=k, item_id=item_id, action="done")),
                _button(
                    tr("btn_snooze_15"), StaffReminderCb(kind=k, item_id=item_id, action="s15")
                ),
                _button(
                    tr("btn_snooze_60"), StaffReminderCb(kind=k, item_id=item_id, action="s60")
                ),
            ]
        ]
    )


def lead_text(
    tr: Translate,
    *,
    repeat: bool,
    source: str,
    name: str | None,
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    answers: Mapping[str, Any] | None = None,
    url: str,
    footer: str | None = None,
) -> str:
    """Source, name, contacts, the form's answers and the back-office link; plain text
    (Telegram makes phones and links tappable itself)."""
    lines = [tr("lead_repeat" if repeat else "lead_new", source=source)]
    if name:
        lines.append(name)
    lines += [f"📞 {p}" for p in phones]
    lines += [f"✉️ {e}" for e in emails]
    for key, value in list((answers or {}).items())[:ANSWERS_SHOWN]:
        if value not in (None, "", [], {}):
            lines.append(f"• {key}: {str(value)[:200]}")
    lines.append(url)
    if footer:
        lines += ["", footer]
    return "\n".join(lines)
