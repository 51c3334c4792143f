"""Every inline button's data: a CallbackData factory, so nothing is parsed by hand.

Ids inside are never trusted: handlers re-check them against the user and the database.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class GroupCb(CallbackData, prefix="g"):
    group_id: int  # 0: every product
    page: int = 0


class ProductCb(CallbackData, prefix="p"):
    product_id: int


class CartAddCb(CallbackData, prefix="ca"):
    product_id: int
    delta: int
    view: str = "p"  # "p": the product card, "c": the cart


class CartCb(CallbackData, prefix="c"):
    action: str  # show, clear, checkout


class CheckoutCb(CallbackData, prefix="co"):
    action: str  # pickup, delivery, skip_comment, confirm, cancel


class OrdersCb(CallbackData, prefix="ol"):
    page: int = 0


class OrderCb(CallbackData, prefix="o"):
    order_id: int
    action: str = "card"  # card, pay, pdf, repeat


class LanguageCb(CallbackData, prefix="lang"):
    code: str
