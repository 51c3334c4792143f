"""Refunds: money back off an order, idempotent by external_id, never more than paid."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm_core.analytics.plan import plan_vs_actual
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import OutboxEvent, Payment
from crm_core.orders.service import (
    change_order_state,
    get_order,
    register_payment,
    register_refund,
)
from tests.factories.commerce import make_order

D = Decimal


async def test_refund_lowers_paid_amount_and_emits(session):
    order = await make_order(session, total="1000.00")
    await register_payment(session, order.id, amount=D("600.00"), method="card")
    refund, created = await register_refund(session, order.id, amount=D("200.00"))
    assert created and refund.amount == D("-200.00")
    assert refund.method.value == "card"  # the method of the payment it returns
    order = await get_order(session, order.id)
    assert order.paid_amount == D("400.00")
    event = await session.scalar(select(OutboxEvent).where(OutboxEvent.topic == "payment.refunded"))
    assert event.payload["amount"] == "200.00" and event.payload["paid_percent"] == 40


async def test_a_fully_refunded_order_can_be_cancelled(session):
    order = await make_order(session, total="1000.00")
    await register_payment(session, order.id, amount=D("1000.00"), method="bank")
    with pytest.raises(Conflict, match="refund them"):
        await change_order_state(session, order.id, state_code="cancelled")
    await register_refund(session, order.id, amount=D("1000.00"), external_id="ret-1")
    order = await change_order_state(session, order.id, state_code="cancelled")
    assert order.category.value == "cancelled" and order.paid_amount == 0
    with pytest.raises(Conflict):  # a cancelled order holds no money to give back
        await register_refund(session, order.id, amount=D("1.00"))


async def test_a_completed_order_can_still_be_refunded(session):
    order = await make_order(session, total="500.00")
    await register_payment(session, order.id, amount=D("500.00"), method="cash")
    await change_order_state(session, order.id, state_code="completed")
    await register_refund(session, order.id, amount=D("500.00"), method="cash")
    assert (await get_order(session, order.id)).paid_amount == 0


async def test_bad_refunds_are_refused_and_change_nothing(session):
    order = await make_order(session, total="1000.00")
    with pytest.raises(Conflict, match="no payments"):
        await register_refund(session, order.id, amount=D("1"))
    await register_payment(session, order.id, amount=D("300.00"), method="card")
    with pytest.raises(Conflict, match="exceeds"):
        await register_refund(session, order.id, amount=D("300.01"))
    for amount in (D("0"), D("-5")):
        with pytest.raises(ValidationFailed):
            await register_refund(session, order.id, amount=amount)
    with pytest.raises(ValidationFailed):
        await register_refund(session, order.id, amount=D("1"), method="barter")
    with pytest.raises(ValidationFailed, match="time zone"):
        await register_refund(
            session, order.id, amount=D("1"), refunded_at=datetime(2026, 3, 2, 12, 0)
        )
    assert (await get_order(session, order.id)).paid_amount == D("300.00")
    assert await session.scalar(select(func.count(Payment.id))) == 1


async def test_same_refund_twice_is_one_refund(session):
    order = await make_order(session, total="1000.00")
    await register_payment(session, order.id, amount=D("1000.00"), method="online")
    first, created = await register_refund(session, order.id, amount=D("400"), external_id="r-1")
    again, created_again = await register_refund(
        session, order.id, amount=D("400"), external_id="r-1"
    )
    assert created and not created_again and again.id == first.id
    assert (await get_order(session, order.id)).paid_amount == D("600.00")


async def test_concurrent_refunds_never_go_below_zero(uow):
    async with uow() as s:
        order_id = (await make_order(s, total="1000.00")).id
        await register_payment(s, order_id, amount=D("1000.00"), method="card")

    async def refund(n: int):
        try:
            async with uow() as s:
                await register_refund(s, order_id, amount=D("400.00"), external_id=f"r-{n}")
            return True
        except Conflict:
            return False

    results = await asyncio.gather(*(refund(n) for n in range(4)))
    assert sum(results) == 2  # 1000 paid: two refunds of 400 fit, the others are refused
    async with uow() as s:
        assert (await get_order(s, order_id)).paid_amount == D("200.00")


async def test_plan_actual_nets_out_refunds(session, clock):
    order = await make_order(session, total="1000.00")
    await register_payment(session, order.id, amount=D("1000.00"), method="card")
    await register_refund(session, order.id, amount=D("250.00"))
    report = await plan_vs_actual(session, period=clock.now().strftime("%Y-%m"))
    assert report.total.paid == D("750.00")
