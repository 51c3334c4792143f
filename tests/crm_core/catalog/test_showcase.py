"""The shop window's reads: a group's page and a product's card in one statement each,
the same products, order, totals and prices as the general catalog reads."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import event

from crm_core.cart.service import cart_items, change_quantity
from crm_core.catalog import groups, showcase
from crm_core.catalog.service import create_product, list_products, update_product
from crm_core.models import ProductKind


async def _shop(session):
    tools = await groups.create_group(session, name="Инструмент")
    drills = await groups.create_group(session, name="Дрели", parent_id=tools.id)
    cordless = await groups.create_group(session, name="Аккумуляторные", parent_id=drills.id)
    other = await groups.create_group(session, name="Краска")
    made = {}
    for name, group, prices in (
        ("Бур", drills, {"retail": "100.00", "wholesale": "80.00"}),
        ("Аккумуляторная дрель", cordless, {"retail": "5000.00"}),
        ("Молоток", tools, {}),
        ("Уровень", tools, {"retail": "300.00"}),
        ("Эмаль", other, {"retail": "50.00"}),
    ):
        made[name] = await create_product(
            session, name=name, group_id=group.id, prices=prices, stock=Decimal(4)
        )
    await create_product(session, name="Снятая дрель", group_id=drills.id, active=False)
    return tools, drills, other, made


class Statements:
    def __init__(self, session) -> None:
        self.n = 0
        self.engine = session.bind.sync_engine
        event.listen(self.engine, "before_cursor_execute", self._count)

    def _count(self, *_args) -> None:
        self.n += 1

    def __enter__(self):
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


async def test_a_group_page_is_its_active_subtree_by_name_in_one_statement(session):
    tools, _drills, _other, _made = await _shop(session)
    await session.flush()
    with Statements(session) as statements:
        page = await showcase.group_page(session, tools.id, limit=3)
    assert statements.n == 1
    assert page.name == "Инструмент"
    assert page.total == 4  # the inactive drill and the other group's paint are not in it
    assert [p.name for p in page.products] == ["Аккумуляторная дрель", "Бур", "Молоток"]
    assert [p.price for p in page.products] == [Decimal("5000.00"), Decimal("100.00"), None]
    # The same products and order as the general read, page after page.
    general, total = await list_products(session, group=tools.id, active=True, limit=50)
    second = await showcase.group_page(session, tools.id, limit=3, offset=3)
    assert total == page.total
    assert [p.id for p in page.products + second.products] == [p.id for p in general]
    assert second.products[0].stock == Decimal(4) and second.products[0].kind is ProductKind.GOODS


async def test_every_group_an_empty_page_and_a_missing_group(session):
    _tools, _drills, other, _made = await _shop(session)
    everything = await showcase.group_page(session, None, limit=50)
    assert everything.name is None and everything.total == 5
    past_the_end = await showcase.group_page(session, other.id, limit=8, offset=8)
    assert (past_the_end.name, past_the_end.products, past_the_end.total) == ("Краска", [], 0)
    empty = await groups.create_group(session, name="Пусто")
    assert (await showcase.group_page(session, empty.id, limit=8)).products == []
    assert await showcase.group_page(session, 999_999, limit=8) is None


async def test_prices_of_a_given_kind_and_of_a_new_default(session):
    _tools, drills, _other, made = await _shop(session)
    wholesale = await groups.price_kind_by_code(session, "wholesale", field="x")
    page = await showcase.group_page(session, drills.id, limit=8, price_kind_id=wholesale.id)
    assert [(p.name, p.price) for p in page.products] == [
        ("Аккумуляторная дрель", None),
        ("Бур", Decimal("80.00")),
    ]
    await groups.update_price_kind(session, wholesale.id, is_default=True)
    card = await showcase.product_card(session, made["Бур"].id, telegram_id=1)
    assert card.product.price == Decimal("80.00")


async def test_a_card_with_the_cart_quantity_in_one_statement(session):
    _tools, _drills, _other, made = await _shop(session)
    drill = made["Аккумуляторная дрель"]
    await change_quantity(session, 42, drill.id, Decimal(2))
    await change_quantity(session, 43, drill.id, Decimal(5))  # someone else's cart
    with Statements(session) as statements:
        card = await showcase.product_card(session, drill.id, telegram_id=42)
    assert statements.n == 1
    assert (card.product.name, card.product.price, card.in_cart) == (
        "Аккумуляторная дрель",
        Decimal("5000.00"),
        Decimal(2),
    )
    assert (await showcase.product_card(session, made["Бур"].id, telegram_id=42)).in_cart == 0
    await update_product(session, drill.id, active=False)
    assert await showcase.product_card(session, drill.id, telegram_id=42) is None
    assert await showcase.product_card(session, 999_999, telegram_id=42) is None


async def test_cart_items_in_one_statement_with_prices(session):
    _tools, _drills, _other, made = await _shop(session)
    for name in ("Уровень", "Молоток", "Бур"):
        await change_quantity(session, 42, made[name].id, Decimal(3))
    with Statements(session) as statements:
        items = await cart_items(session, 42)
    assert statements.n == 1
    assert [(i.product.name, i.quantity, i.price, i.amount) for i in items] == [
        ("Уровень", Decimal(3), Decimal("300.00"), Decimal("900.00")),
        ("Молоток", Decimal(3), None, Decimal("0.00")),
        ("Бур", Decimal(3), Decimal("100.00"), Decimal("300.00")),
    ]
    wholesale = await groups.price_kind_by_code(session, "wholesale", field="x")
    items = await cart_items(session, 42, price_kind_id=wholesale.id)
    assert [i.price for i in items] == [None, None, Decimal("80.00")]
    assert all(i.product.active for i in items)


async def test_changing_a_cart_line_checks_the_product_and_room_in_one_statement(
    session, monkeypatch
):
    import pytest

    from crm_core.cart import service as cart_service
    from crm_core.errors import NotFound, ValidationFailed

    _tools, _drills, _other, made = await _shop(session)
    drill, bit, level = made["Аккумуляторная дрель"], made["Бур"], made["Уровень"]
    with Statements(session) as statements:
        assert await change_quantity(session, 42, drill.id, Decimal(2)) == Decimal(2)
    assert statements.n == 1  # the upsert, its SELECT checking product and room
    assert await change_quantity(session, 42, drill.id, Decimal(-2)) == Decimal(0)
    assert await cart_items(session, 42) == []
    await update_product(session, drill.id, active=False)
    for product_id in (drill.id, 999_999):
        with pytest.raises(NotFound):
            await change_quantity(session, 42, product_id, Decimal(1))
    monkeypatch.setattr(cart_service, "MAX_LINES", 2)
    await change_quantity(session, 42, bit.id, Decimal(1))
    await change_quantity(session, 42, level.id, Decimal(1))
    with pytest.raises(ValidationFailed):
        await change_quantity(session, 42, made["Эмаль"].id, Decimal(1))
    assert await change_quantity(session, 42, bit.id, Decimal(-1)) == Decimal(0)  # taking is free
    assert await change_quantity(session, 42, made["Эмаль"].id, Decimal(1)) == Decimal(1)
