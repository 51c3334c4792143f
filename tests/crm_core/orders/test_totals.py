"""Order lines, totals and VAT against hand-computed numbers; the customer's counters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import Customer, OutboxEvent
from crm_core.orders.lines import line_amount, vat_included
from crm_core.orders.service import (
    LineInput,
    add_order_line,
    create_order,
    get_order,
    remove_order_line,
    update_order,
)
from tests.factories.commerce import make_buyer, make_product

D = Decimal


@pytest.mark.parametrize(
    ("quantity", "price", "discount", "amount"),
    [
        ("3", "333.33", "0", "999.99"),
        ("2", "100.00", "15", "170.00"),
        ("1.5", "99.99", "0", "149.99"),  # 149.985 rounds half up
        ("0.333", "10.00", "0", "3.33"),
        ("7", "0.05", "10", "0.32"),  # 0.315 rounds half up
        ("1", "500.00", "100", "0.00"),
    ],
)
def test_line_amount(quantity, price, discount, amount):
    assert line_amount(D(quantity), D(price), D(discount)) == D(amount)


@pytest.mark.parametrize(
    ("amount", "rate", "vat"),
    [
        ("1200.00", 20, "200.00"),
        ("110.00", 10, "10.00"),
        ("100.00", 20, "16.67"),
        ("105.00", 5, "5.00"),
        ("107.00", 7, "7.00"),
        ("100.00", 0, "0.00"),
        ("100.00", None, "0.00"),
    ],
)
def test_vat_included_in_price(amount, rate, vat):
    assert vat_included(D(amount), None if rate is None else D(rate)) == D(vat)


async def test_totals_and_vat_of_an_order(session):
    buyer = await make_buyer(session)
    table = await make_product(session, price="1200.00", vat_rate=20)
    book = await make_product(session, price="330.00", vat_rate=10)
    order = await create_order(
        session,
        customer_id=buyer.id,
        lines=[
            LineInput(table.id, D(2)),  # 2400.00, VAT 400.00
            LineInput(book.id, D(3), discount_percent=D(10)),  # 891.00, VAT 81.00
            LineInput(None, D(1), D("99.99"), name="Доставка"),  # no VAT
        ],
    )
    order = await get_order(session, order.id)
    assert [line.amount for line in order.lines] == [D("2400.00"), D("891.00"), D("99.99")]
    assert [line.vat_amount for line in order.lines] == [D("400.00"), D("81.00"), D("0.00")]
    assert order.total == D("3390.99")
    assert order.vat_amount == D("481.00")
    assert order.state.code == "new" and order.category == "open"
    assert order.number.startswith("ЗК-2026-")
    event = await session.scalar(select(OutboxEvent).where(OutboxEvent.topic == "order.created"))
    assert event.payload["order_id"] == order.id and event.payload["total"] == "3390.99"


async def test_prices_come_from_the_price_kind(session):
    buyer = await make_buyer(session)
    product = await make_product(session, prices={"retail": "100.00", "wholesale": "80.00"})
    retail = await create_order(session, customer_id=buyer.id, lines=[LineInput(product.id, D(1))])
    assert retail.total == D("100.00")
    from crm_core.catalog.groups import price_kind_by_code

    wholesale = await price_kind_by_code(session, "wholesale", field="x")
    order = await create_order(
        session,
        customer_id=buyer.id,
        price_kind_id=wholesale.id,
        lines=[LineInput(product.id, D(2)), LineInput(product.id, D(1), price=D("50"))],
    )
    assert order.total == D("210.00")


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (dict(quantity=D(0)), "lines.0.quantity"),
        (dict(quantity=D(-1)), "lines.0.quantity"),
        (dict(quantity=D("1.0001")), "lines.0.quantity"),
        (dict(quantity=D(1), price=D("-0.01")), "lines.0.price"),
        (dict(quantity=D(1), price=D("1.001")), "lines.0.price"),
        (dict(quantity=D(1), discount_percent=D(101)), "lines.0.discount_percent"),
        (dict(quantity=D(1), discount_percent=D(-1)), "lines.0.discount_percent"),
        (dict(quantity=D(1), product_id=None, name=None, price=D(1)), "lines.0.name"),
        (dict(quantity=D(1), product_id=10**6), "lines.0.product_id"),
        (dict(quantity=D("NaN")), "lines.0.quantity"),
    ],
)
async def test_bad_lines_are_refused(session, line, field):
    buyer = await make_buyer(session)
    product = await make_product(session)
    line = {"product_id": product.id, **line}  # a copy: params are shared across backends
    with pytest.raises(ValidationFailed) as err:
        await create_order(session, customer_id=buyer.id, lines=[LineInput(**line)])
    assert err.value.field == field


async def test_a_product_without_price_needs_one(session):
    buyer = await make_buyer(session)
    product = await make_product(session, price=None)
    with pytest.raises(ValidationFailed) as err:
        await create_order(session, customer_id=buyer.id, lines=[LineInput(product.id, D(1))])
    assert err.value.field == "lines.0.price"


async def test_unknown_customer_or_kind(session):
    with pytest.raises(ValidationFailed) as err:
        await create_order(session, customer_id=10**6)
    assert err.value.field == "customer_id"
    buyer = await make_buyer(session)
    with pytest.raises(ValidationFailed) as err:
        await create_order(session, customer_id=buyer.id, kind_id=10**6)
    assert err.value.field == "kind_id"


async def test_customer_counters_follow_orders(session, clock):
    buyer = await make_buyer(session)
    first = await create_order(
        session, customer_id=buyer.id, lines=[LineInput(None, D(1), D(100), name="A")]
    )
    await create_order(
        session, customer_id=buyer.id, lines=[LineInput(None, D(2), D(50), name="B")]
    )
    await update_order(session, first.id, lines=[LineInput(None, D(3), D(100), name="A")])
    customer = await session.get(Customer, buyer.id)
    assert customer.orders_count == 2
    assert customer.total_spent == D("400.00")
    assert customer.last_order_at == clock.now()


async def test_empty_order_then_lines_added_and_removed(session):
    buyer = await make_buyer(session)
    order = await create_order(session, customer_id=buyer.id)
    assert order.total == 0 and order.lines == []
    order = await add_order_line(session, order.id, LineInput(None, D(2), D("10.50"), name="X"))
    order = await add_order_line(session, order.id, LineInput(None, D(1), D(5), name="Y"))
    assert order.total == D("26.00") and [x.position for x in order.lines] == [0, 1]
    order = await remove_order_line(session, order.id, order.lines[0].id)
    assert order.total == D("5.00")


async def test_external_id_is_unique(session):
    buyer = await make_buyer(session)
    await create_order(session, customer_id=buyer.id, external_id="shop-1")
    with pytest.raises(Conflict):
        await create_order(session, customer_id=buyer.id, external_id="shop-1")
