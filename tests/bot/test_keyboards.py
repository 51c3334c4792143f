"""Inline keyboards keep their layout (built as plain rows, without aiogram's builder)."""

from __future__ import annotations

from decimal import Decimal

from bot import keyboards
from bot.i18n import translator
from crm_core.catalog.showcase import ShowcaseProduct
from crm_core.models import ProductGroup, ProductKind


def layout(markup) -> list[list[tuple[str, str]]]:
    return [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]


def test_groups_two_to_a_row_then_all_products():
    _ = translator("ru")
    items = [ProductGroup(id=i, name=f"G{i}") for i in (1, 2, 3)]
    assert layout(keyboards.groups(_, items)) == [
        [("G1", "g:1:0"), ("G2", "g:2:0")],
        [("G3", "g:3:0"), ("Все товары", "g:0:0")],
    ]
    assert layout(keyboards.groups(_, [])) == [[("Все товары", "g:0:0")]]


def test_a_product_page_with_prices_paging_and_back():
    _ = translator("ru")

    def product(i: int) -> ShowcaseProduct:
        return ShowcaseProduct(i, f"P{i}", ProductKind.GOODS, "шт", Decimal(1), None, None, None)

    rows = [(product(7), Decimal("1500.5")), (product(8), None)]
    assert layout(keyboards.products(_, rows, group_id=3, page=1, pages=3)) == [
        [("P7 · 1 500.50 ₽", "p:7")],
        [("P8", "p:8")],
        [("‹", "g:3:0"), ("›", "g:3:2")],
        [("« Назад", "c:groups"), ("🛒 Корзина", "c:show")],
    ]
    only = layout(keyboards.products(_, rows[:1], group_id=3, page=0, pages=1))
    assert only == [
        [("P7 · 1 500.50 ₽", "p:7")],
        [("« Назад", "c:groups"), ("🛒 Корзина", "c:show")],
    ]


def test_the_cart_one_row_per_line_then_clear_and_check_out():
    _ = translator("ru")
    assert layout(keyboards.cart(_, [(5, "Дрель")])) == [
        [("−", "ca:5:-1:c"), ("Дрель", "p:5"), ("+", "ca:5:1:c")],
        [("🗑 Очистить", "c:clear"), ("✅ Оформить", "c:checkout")],
    ]
