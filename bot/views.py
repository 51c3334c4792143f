"""How money, quantities, orders and carts read in a chat (plain text, no markup)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.i18n import Translate
from crm_core.cart.service import CartItem, cart_total
from crm_core.models import OrderIndicator

INDICATOR_EMOJI = {
    OrderIndicator.ON_TIME: "🟢",
    OrderIndicator.OVERDUE: "🔴",
    OrderIndicator.CLOSED: "✅",
    OrderIndicator.CANCELLED: "⚪",
}


def rub(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.2f}".replace(",", " ") + " ₽"


def qty(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def day(at: datetime, timezone: str) -> str:
    return at.astimezone(ZoneInfo(timezone)).strftime("%d.%m.%Y")


def cart_text(_: Translate, items: list[CartItem]) -> str:
    lines = [
        _(
            "{name} × {quantity} = {amount}",
            name=i.product.name,
            quantity=qty(i.quantity),
            amount=rub(i.amount),
        )
        for i in items
    ]
    return "\n".join([*lines, "", _("Total: {total}", total=rub(cart_total(items)))])
