"""Payments: idempotent by external_id (also under a race), never beyond the total."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import Order, OutboxEvent, Payment
from crm_core.orders.service import change_order_state, get_order, register_payment
from tests.factories.commerce import make_order

D = Decimal


async def test_payment_moves_paid_amount_and_emits(session):
    order = await make_order(session, total="1000.00")
    payment, created = await register_payment(session, order.id, amount=D("250.00"), method="card")
    assert created and payment.id
    order = await get_order(session, order.id)
    assert order.paid_amount == D("250.00")
    event = await session.scalar(select(OutboxEvent).where(OutboxEvent.topic == "payment.received"))
    assert event.payload["paid_percent"] == 25
    assert event.payload["amount"] == "250.00" and event.payload["number"] == order.number


async def test_same_external_id_twice_is_one_payment(session):
    order = await make_order(session, total="1000.00")
    first, created = await register_payment(
        session, order.id, amount=D("400"), method="online", external_id="psp-1"
    )
    again, created_again = await register_payment(
        session, order.id, amount=D("400"), method="online", external_id="psp-1"
    )
    assert created and not created_again and again.id == first.id
    assert (await get_order(session, order.id)).paid_amount == D("400.00")
    other = await make_order(session)
    with pytest.raises(Conflict):  # the same provider id cannot pay another order
        await register_payment(session, other.id, amount=D(1), method="online", external_id="psp-1")


async def test_concurrent_double_post_records_one_payment(uow):
    async with uow() as s:
        order_id = (await make_order(s, total="1000.00")).id

    async def post():
        async with uow() as s:
            payment, created = await register_payment(
                s, order_id, amount=D("1000.00"), method="online", external_id="psp-race"
            )
            return payment.id, created

    results = await asyncio.gather(*(post() for _ in range(5)))
    assert len({pid for pid, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    async with uow() as s:
        assert await s.scalar(select(func.count(Payment.id))) == 1
        assert (await s.get(Order, order_id)).paid_amount == D("1000.00")


async def test_concurrent_different_payments_do_not_lose_updates(uow):
    async with uow() as s:
        order_id = (await make_order(s, total="1000.00")).id

    async def post(n: int):
        async with uow() as s:
            await register_payment(s, order_id, amount=D("100"), method="cash", external_id=f"p{n}")

    await asyncio.gather(*(post(n) for n in range(6)))
    async with uow() as s:
        assert (await s.get(Order, order_id)).paid_amount == D("600.00")


async def test_overpayment_is_refused_without_change(session):
    order = await make_order(session, total="1000.00")
    await register_payment(session, order.id, amount=D("700"), method="bank")
    with pytest.raises(Conflict) as err:
        await register_payment(session, order.id, amount=D("500"), method="bank")
    assert "payment 500.00 exceeds the 300.00 left to pay" in err.value.message
    assert (await get_order(session, order.id)).paid_amount == D("700.00")
    assert await session.scalar(select(func.count(Payment.id))) == 1


@pytest.mark.parametrize("amount", [D(0), D("-1"), D("0.001")])
async def test_amount_must_be_positive_kopecks(session, amount):
    order = await make_order(session)
    with pytest.raises(ValidationFailed):
        await register_payment(session, order.id, amount=amount, method="cash")


async def test_unknown_method(session):
    order = await make_order(session)
    with pytest.raises(ValidationFailed):
        await register_payment(session, order.id, amount=D(1), method="barter")


@pytest.mark.parametrize("final", ["cancelled", "completed"])
async def test_closed_orders_take_no_payment(session, final):
    order = await make_order(session)
    await change_order_state(session, order.id, state_code=final)
    with pytest.raises(Conflict):
        await register_payment(session, order.id, amount=D(1), method="cash")
    assert (await get_order(session, order.id)).paid_amount == 0
