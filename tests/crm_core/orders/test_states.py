"""Moving orders between states; editing kinds and their states."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.models import Customer, OrderKind, OutboxEvent, StateCategory
from crm_core.orders import kinds
from crm_core.orders.service import (
    change_order_state,
    get_order,
    list_orders,
    register_payment,
    register_shipment,
)
from tests.factories.commerce import make_buyer, make_order, state_of


async def test_state_change_copies_category_and_closes(session, clock):
    order = await make_order(session)
    order = await change_order_state(session, order.id, state_code="in_work")
    assert order.state.code == "in_work" and order.closed_at is None
    done = await state_of(session, "completed")
    order = await change_order_state(session, order.id, state_id=done.id)
    assert order.category == StateCategory.COMPLETED and order.closed_at == clock.now()
    event = (
        await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.topic == "order.state_changed")
            .order_by(OutboxEvent.id.desc())
        )
    ).first()
    assert event.payload["from_state"] == "in_work" and event.payload["to_state"] == "completed"
    assert event.payload["category"] == "completed"


async def test_state_of_another_kind_is_refused(session):
    other = await kinds.create_order_kind(session, code="service", name="Сервис")
    order = await make_order(session)
    foreign = await state_of(session, "in_work", kind_id=other.id)
    with pytest.raises(ValidationFailed) as err:
        await change_order_state(session, order.id, state_id=foreign.id)
    assert err.value.field == "state_id"
    with pytest.raises(ValidationFailed):
        await change_order_state(session, order.id, state_code="no_such_state")
    with pytest.raises(ValidationFailed):
        await change_order_state(session, order.id)


async def test_cancelling_a_paid_order_is_a_conflict(session):
    order = await make_order(session, total="500.00")
    await register_payment(session, order.id, amount=Decimal(100), method="cash")
    with pytest.raises(Conflict) as err:
        await change_order_state(session, order.id, state_code="cancelled")
    assert "payments of 100.00" in err.value.message
    assert (await get_order(session, order.id)).state.code == "new"


async def test_cancelled_order_cannot_be_shipped(session):
    order = await make_order(session)
    await change_order_state(session, order.id, state_code="cancelled")
    with pytest.raises(Conflict):
        await register_shipment(session, order.id)


async def test_cancel_and_reopen_adjust_the_customer(session):
    buyer = await make_buyer(session)
    order = await make_order(session, customer=buyer, total="300.00")
    await change_order_state(session, order.id, state_code="cancelled")
    customer = await session.get(Customer, buyer.id)
    assert (customer.orders_count, customer.total_spent) == (0, Decimal("0.00"))
    await change_order_state(session, order.id, state_code="new")
    assert (customer.orders_count, customer.total_spent) == (1, Decimal("300.00"))


async def test_kind_with_states_crud(session):
    kind = await kinds.create_order_kind(
        session,
        code="repair",
        name="Ремонт",
        states=[
            {"code": "accepted", "name": "Принят"},
            {"code": "done", "name": "Выдан", "category": "completed"},
        ],
    )
    kind = await kinds.get_order_kind(session, kind.id)
    assert [s.code for s in kind.states] == ["accepted", "done"]
    assert kind.states[0].is_initial
    waiting = await kinds.add_state(session, kind.id, name="Ждёт запчасти", position=1)
    kind = await kinds.get_order_kind(session, kind.id)
    assert [s.id for s in kind.states][1] == waiting.id and waiting.code
    await kinds.update_state(session, kind.id, waiting.id, name="Ждёт деталей")
    ids = [s.id for s in kind.states]
    await kinds.reorder_states(session, kind.id, [ids[1], ids[0], ids[2]])
    kind = await kinds.get_order_kind(session, kind.id)
    assert kind.states[0].id == waiting.id and kind.states[0].name == "Ждёт деталей"
    with pytest.raises(ValidationFailed):
        await kinds.reorder_states(session, kind.id, ids[:2])

    order = await make_order(session, kind_id=kind.id)
    assert order.state.code == "accepted"  # the initial state, not the first by position
    with pytest.raises(Conflict):
        await kinds.delete_state(session, kind.id, order.state_id)
    await kinds.delete_state(session, kind.id, waiting.id)
    with pytest.raises(NotFound):
        await kinds.delete_state(session, kind.id, waiting.id)


async def test_recategorising_a_state_moves_its_orders(session):
    order = await make_order(session)
    await kinds.update_state(
        session, order.kind_id, order.state_id, category="completed", is_initial=False
    )
    items, _ = await list_orders(session, indicator="closed")
    assert [o.id for o in items] == [order.id]


async def test_kind_needs_an_open_state_and_one_default(session):
    with pytest.raises(ValidationFailed):
        await kinds.create_order_kind(
            session, code="x", name="X", states=[{"name": "Закрыт", "category": "completed"}]
        )
    kind = await kinds.create_order_kind(session, code="y", name="Y", is_default=True)
    defaults = await session.scalars(select(OrderKind.code).where(OrderKind.is_default))
    assert list(defaults) == ["y"]
    assert len(kind.states) == 6  # the standard set


async def test_recategorising_a_state_as_cancelled_keeps_the_customers_marks_true(session):
    """An order in a state made "cancelled" is no longer live for the funnel's lead chain
    (``customer_order_marks``), and live again when the state is made open."""
    from crm_core.models import CustomerOrderMarks
    from crm_core.orders.figures import rebuild_order_figures

    async def marks():
        rows = await session.execute(
            select(
                CustomerOrderMarks.customer_id,
                CustomerOrderMarks.live_orders,
                CustomerOrderMarks.paid_orders,
            ).order_by(CustomerOrderMarks.customer_id)
        )
        return [tuple(r) for r in rows if r[1] or r[2]]

    async def rebuilt():
        async with session.begin_nested() as savepoint:
            await rebuild_order_figures(session)
            got = await marks()
            await savepoint.rollback()
        return got

    buyer, other = await make_buyer(session), await make_buyer(session)
    waiting = await make_order(session, customer=buyer)
    paid = await make_order(session, customer=buyer, total="100.00")
    await register_payment(session, paid.id, amount=Decimal(100), method="cash")
    await make_order(session, customer=other)
    elsewhere = await change_order_state(session, waiting.id, state_code="in_work")
    assert elsewhere.state.code == "in_work"
    in_work = await state_of(session, "in_work")
    new = await state_of(session, "new")
    assert await marks() == [(buyer.id, 2, 1), (other.id, 1, 0)]

    await kinds.update_state(session, new.kind_id, new.id, category="cancelled", is_initial=False)
    assert await marks() == [(buyer.id, 1, 0)] == await rebuilt()
    await kinds.update_state(session, new.kind_id, new.id, category="completed")
    assert await marks() == [(buyer.id, 2, 1), (other.id, 1, 0)] == await rebuilt()
    await kinds.update_state(session, in_work.kind_id, in_work.id, category="completed")
    assert await marks() == [(buyer.id, 2, 1), (other.id, 1, 0)] == await rebuilt()
