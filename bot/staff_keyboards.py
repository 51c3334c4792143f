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
    # take, conv, convo (with an order), hide (pick a reason), hr (hide: reason),
    # cb (call back: pick a time), cb1 (in 1 h), cbt (tomorrow 10:00), cbc (custom)
    action: str
    arg: int = 0  # hr: the hide reason id


class StaffReminderCb(CallbackData, prefix="sr"):
    kind: str  # e: event, t: task
    item_id: int
    action: str  # done, s15, s60, s1d (tomorrow), cx (cancel)


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def lead_actions(_: Translate, lead_id: int, *, take: bool = True) -> InlineKeyboardMarkup:
    rows = []
    if take:
        rows.append([_button(_("🙋 Take"), StaffLeadCb(lead_id=lead_id, action="take"))])
    rows.append(
        [
            _button(_("👤 Convert"), StaffLeadCb(lead_id=lead_id, action="conv")),
            _button(_("🛒 Convert + order"), StaffLeadCb(lead_id=lead_id, action="convo")),
        ]
    )
    rows.append(
        [
            _button(_("📞 Call back…"), StaffLeadCb(lead_id=lead_id, action="cb")),
            _button(_("🙈 Hide"), StaffLeadCb(lead_id=lead_id, action="hide")),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def callback_times(_: Translate, lead_id: int) -> InlineKeyboardMarkup:
    """When to call back: in 1 h, tomorrow 10:00, or a time the manager writes."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(_("In 1 h"), StaffLeadCb(lead_id=lead_id, action="cb1")),
                _button(_("Tomorrow 10:00"), StaffLeadCb(lead_id=lead_id, action="cbt")),
            ],
            [_button(_("Other time…"), StaffLeadCb(lead_id=lead_id, action="cbc"))],
        ]
    )


def hide_reasons(lead_id: int, reasons: Iterable[tuple[int, str]]) -> InlineKeyboardMarkup:
    rows = [
        [_button(name, StaffLeadCb(lead_id=lead_id, action="hr", arg=reason_id))]
        for reason_id, name in reasons
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def reminder_actions(_: Translate, kind: str, item_id: int) -> InlineKeyboardMarkup:
    k = "e" if kind == "event" else "t"
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(_("✅ Done"), StaffReminderCb(kind=k, item_id=item_id, action="done")),
                _button(_("⏰ 15 min"), StaffReminderCb(kind=k, item_id=item_id, action="s15")),
                _button(_("⏰ 1 h"), StaffReminderCb(kind=k, item_id=item_id, action="s60")),
            ],
            [
                _button(_("⏰ Tomorrow"), StaffReminderCb(kind=k, item_id=item_id, action="s1d")),
                _button(_("✖️ Cancel"), StaffReminderCb(kind=k, item_id=item_id, action="cx")),
            ],
        ]
    )


def lead_text(
    _: Translate,
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
    if repeat:
        lines = [_("🔁 Repeat request · {source}", source=source)]
    else:
        lines = [_("🆕 New lead · {source}", source=source)]
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
