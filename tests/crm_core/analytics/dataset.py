"""A small, hand-countable data set for the funnel and plan tests (see the numbers
in the comments; Moscow is UTC+3 all year)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from crm_core.models import Employee, ProductGroup
from crm_core.plans.service import set_plan
from tests.factories.activity import (
    make_customer,
    make_employee,
    make_kind,
    make_lead,
    make_order,
    make_payment,
)

MARCH_STARTS = datetime(2026, 2, 28, 21, tzinfo=UTC)  # 2026-03-01 00:00 MSK
APRIL_STARTS = datetime(2026, 3, 31, 21, tzinfo=UTC)  # 2026-04-01 00:00 MSK
JUST_BEFORE_MARCH = datetime(2026, 2, 28, 20, 59, 59, tzinfo=UTC)
JUST_BEFORE_APRIL = datetime(2026, 3, 31, 20, 59, 59, tzinfo=UTC)
MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def utc(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@dataclass
class Data:
    anna: Employee  # e1
    boris: Employee  # e2
    vera: Employee  # e3: a plan, no sales


async def build(s) -> Data:
    anna = await make_employee(s, name="Anna")
    boris = await make_employee(s, name="Boris")
    vera = await make_employee(s, name="Vera")
    c1, c2, c3, c4 = [await make_customer(s) for _ in range(4)]
    other_kind = await make_kind(s)
    # Orders of the default kind (states new, in_work, production, quote, completed, cancelled)
    await make_order(s, customer=c4, date=MARCH_STARTS, total="100")  # in, no responsible
    o2 = await make_order(
        s, customer=c4, date=JUST_BEFORE_MARCH, total="1000", responsible_id=anna.id
    )  # out (February)
    o3 = await make_order(
        s, customer=c2, date=utc(10), total="200", state="in_work", responsible_id=anna.id
    )
    o4 = await make_order(
        s,
        customer=c1,
        date=utc(15),
        total="300",
        paid="300",
        state="completed",
        responsible_id=boris.id,
    )
    await make_order(
        s, customer=c3, date=utc(20), total="400", state="cancelled", responsible_id=anna.id
    )
    o6 = await make_order(
        s,
        customer=c4,
        date=JUST_BEFORE_APRIL,
        total="500",
        paid="500",
        state="completed",
        responsible_id=boris.id,
    )
    await make_order(s, customer=c4, date=APRIL_STARTS, total="50")  # out (April)
    await make_order(
        s, customer=c4, date=utc(12), total="999", kind=other_kind, responsible_id=anna.id
    )  # another kind: not in the default funnel, but sold by Anna
    # Payments
    await make_payment(s, order=o4, amount="300", paid_at=utc(15))  # Boris, March
    await make_payment(s, order=o6, amount="500", paid_at=APRIL_STARTS)  # Boris, April
    await make_payment(s, order=o2, amount="250", paid_at=utc(5))  # Anna, March (Feb order)
    await make_payment(s, order=o3, amount="20", paid_at=MARCH_STARTS)  # Anna, March
    await make_payment(s, order=o3, amount="7", paid_at=JUST_BEFORE_MARCH)  # Anna, February
    # Leads created in March: 5 (L4 at the first instant), 4 converted into C1, C2, C3, C1
    await make_lead(s, created_at=utc(2), customer=c1, responsible_id=anna.id)
    await make_lead(s, created_at=utc(3), customer=c2)
    await make_lead(s, created_at=utc(4), customer=c3)
    await make_lead(s, created_at=MARCH_STARTS)
    await make_lead(s, created_at=utc(6), customer=c1)
    await make_lead(s, created_at=JUST_BEFORE_MARCH, customer=c4)  # February
    await make_lead(s, created_at=APRIL_STARTS, customer=c4)  # April
    # Plans
    group = ProductGroup(name="Goods")
    s.add(group)
    await s.flush()
    await set_plan(s, period="2026-03", employee_id=anna.id, amount="1000")
    await set_plan(s, period="2026-03", employee_id=boris.id, amount="2000")
    await set_plan(s, period="2026-03", employee_id=vera.id, amount="500")
    await set_plan(s, period="2026-03", amount="5000")  # the firm's own March plan
    await set_plan(
        s, period="2026-03", employee_id=anna.id, product_group_id=group.id, amount="777"
    )
    await set_plan(s, period="2026-04", employee_id=anna.id, amount="9999")
    await set_plan(s, period="2026-02", employee_id=anna.id, amount="123")
    return Data(anna, boris, vera)
