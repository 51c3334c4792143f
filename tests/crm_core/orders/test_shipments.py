"""Shipments: partial and complete, services included, stock decreased."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import OutboxEvent, Product
from crm_core.orders.indicators import shipped_percent
from crm_core.orders.service import LineInput, get_order, register_shipment
from tests.factories.commerce import make_order, make_product

D = Decimal


async def _order(session):
    chair = await make_product(session, price="100.00", stock=10)
    install = await make_product(session, price="50.00", kind="service")
    order = await make_order(
        session, lines=[LineInput(chair.id, D(3)), LineInput(install.id, D(1))]
    )
    return await get_order(session, order.id), chair


async def test_partial_then_the_rest(session):
    order, chair = await _order(session)
    chair_line = order.lines[0]
    shipment = await register_shipment(session, order.id, lines=[(chair_line.id, D(1))])
    assert shipment.amount == D("100.00")
    order = await get_order(session, order.id)
    assert order.shipped_amount == D("100.00") and shipped_percent(order) == 28
    assert (await session.get(Product, chair.id)).stock == D(9)

    rest = await register_shipment(session, order.id)  # everything left, the service too
    assert rest.amount == D("250.00")
    order = await get_order(session, order.id)
    assert shipped_percent(order) == 100
    assert [x.shipped_quantity for x in order.lines] == [D(3), D(1)]
    assert (await session.get(Product, chair.id)).stock == D(7)
    event = (
        await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.topic == "shipment.registered")
            .order_by(OutboxEvent.id.desc())
        )
    ).first()
    assert event.payload["shipped_percent"] == 100
    with pytest.raises(Conflict):
        await register_shipment(session, order.id)  # nothing left


async def test_parts_add_up_to_the_line_exactly(session):
    order = await make_order(session, lines=[LineInput(None, D(3), D("33.33"), name="X")])
    order = await get_order(session, order.id)
    line_id = order.lines[0].id
    amounts = [
        (await register_shipment(session, order.id, lines=[(line_id, D(1))])).amount
        for _ in range(3)
    ]
    assert sum(amounts) == D("99.99")
    assert (await get_order(session, order.id)).shipped_amount == D("99.99")


async def test_cannot_ship_more_than_ordered(session):
    order, _ = await _order(session)
    with pytest.raises(Conflict):
        await register_shipment(session, order.id, lines=[(order.lines[0].id, D(4))])
    with pytest.raises(ValidationFailed):
        await register_shipment(session, order.id, lines=[(10**6, D(1))])
    with pytest.raises(ValidationFailed):
        await register_shipment(session, order.id, lines=[(order.lines[0].id, D(0))])
    assert (await get_order(session, order.id)).shipped_amount == 0


async def test_external_id_returns_the_recorded_shipment(session):
    order, chair = await _order(session)
    first = await register_shipment(session, order.id, external_id="wh-1")
    again = await register_shipment(session, order.id, external_id="wh-1")
    assert again.id == first.id
    assert (await session.get(Product, chair.id)).stock == D(7)
