"""Reply and inline keyboards; every inline button carries a CallbackData factory.

Inline keyboards are built as plain lists of rows, not with aiogram's
``InlineKeyboardBuilder``: its ``as_markup`` deep-copies every button model, which
cost the catalog's pages more CPU than the rest of their keyboard (``bench/bot.py
--profile``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.callbacks import (
    CartAddCb,
    CartCb,
    CheckoutCb,
    GroupCb,
    LanguageCb,
    OrderCb,
    OrdersCb,
    ProductCb,
)
from bot.i18n import Translate
from bot.views import qty, rub
from crm_core.catalog.showcase import ShowcaseProduct
from crm_core.models import Order, ProductGroup


def contact_request(_: Translate) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_("📱 Share my number"), request_contact=True)],
            [KeyboardButton(text=_("Skip"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def languages() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Русский", callback_data=LanguageCb(code="ru").pack()),
                InlineKeyboardButton(text="English", callback_data=LanguageCb(code="en").pack()),
            ]
        ]
    )


def groups(_: Translate, items: Sequence[ProductGroup]) -> InlineKeyboardMarkup:
    buttons = [_button(group.name, GroupCb(group_id=group.id)) for group in items]
    buttons.append(_button(_("All products"), GroupCb(group_id=0)))
    return _markup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def products(
    _: Translate,
    items: Sequence[tuple[ShowcaseProduct, Decimal | None]],
    *,
    group_id: int,
    page: int,
    pages: int,
) -> InlineKeyboardMarkup:
    rows = []
    for product, price in items:
        label = f"{product.name} · {rub(price)}" if price is not None else product.name
        rows.append([_button(label[:60], ProductCb(product_id=product.id))])
    nav = []
    if page > 0:
        nav.append(_button(_("‹"), GroupCb(group_id=group_id, page=page - 1)))
    if page + 1 < pages:
        nav.append(_button(_("›"), GroupCb(group_id=group_id, page=page + 1)))
    if nav:
        rows.append(nav)
    back = _button(_("« Back"), CartCb(action="groups"))
    rows.append([back, _button(_("🛒 Cart"), CartCb(action="show"))])
    return _markup(rows)


def product_card(_: Translate, product_id: int, in_cart: Decimal) -> InlineKeyboardMarkup:
    if in_cart <= 0:
        first = [_button(_("➕ Add to cart"), CartAddCb(product_id=product_id, delta=1))]
    else:
        first = [
            _button("−", CartAddCb(product_id=product_id, delta=-1)),
            _button(qty(in_cart), CartCb(action="show")),
            _button("+", CartAddCb(product_id=product_id, delta=1)),
        ]
    return InlineKeyboardMarkup(
        inline_keyboard=[first, [_button(_("🛒 Cart"), CartCb(action="show"))]]
    )


def cart(_: Translate, lines: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    rows = [
        [
            _button("−", CartAddCb(product_id=product_id, delta=-1, view="c")),
            _button(name[:30], ProductCb(product_id=product_id)),
            _button("+", CartAddCb(product_id=product_id, delta=1, view="c")),
        ]
        for product_id, name in lines
    ]
    rows.append(
        [
            _button(_("🗑 Clear"), CartCb(action="clear")),
            _button(_("✅ Check out"), CartCb(action="checkout")),
        ]
    )
    return _markup(rows)


def delivery(_: Translate) -> InlineKeyboardMarkup:
    return _one_row(
        (_("🏬 Pickup"), CheckoutCb(action="pickup")),
        (_("🚚 Delivery"), CheckoutCb(action="delivery")),
    )


def skip_comment(_: Translate) -> InlineKeyboardMarkup:
    return _one_row((_("Skip"), CheckoutCb(action="skip_comment")))


def confirm(_: Translate) -> InlineKeyboardMarkup:
    return _one_row(
        (_("✅ Confirm"), CheckoutCb(action="confirm")),
        (_("✖ Cancel"), CheckoutCb(action="cancel")),
    )


def orders(
    _: Translate, rows: Sequence[tuple[int, str]], *, page: int, more: bool
) -> InlineKeyboardMarkup:
    keyboard = [[_button(label[:64], OrderCb(order_id=order_id))] for order_id, label in rows]
    nav = []
    if page > 0:
        nav.append(_button(_("‹"), OrdersCb(page=page - 1)))
    if more:
        nav.append(_button(_("›"), OrdersCb(page=page + 1)))
    if nav:
        keyboard.append(nav)
    return _markup(keyboard)


def order_card(
    _: Translate, order: Order, *, pay_amount: Decimal | None, pdf: bool
) -> InlineKeyboardMarkup:
    rows = []
    if pay_amount is not None:
        rows.append(
            [
                _button(
                    _("💳 Pay {amount}", amount=rub(pay_amount)),
                    OrderCb(order_id=order.id, action="pay"),
                )
            ]
        )
    if pdf:
        rows.append([_button(_("📄 Invoice (PDF)"), OrderCb(order_id=order.id, action="pdf"))])
    rows.append(
        [
            _button(_("🔁 Repeat"), OrderCb(order_id=order.id, action="repeat")),
            _button(_("« Back"), OrdersCb(page=0)),
        ]
    )
    return _markup(rows)


def _button(text: str, data) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _one_row(*buttons) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(text, data) for text, data in buttons]])


def _markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=rows)
