"""A hand-countable data set for plan vs actual per product group.

Groups: Goods > Tools > Drills, Services > Install, and Empty (nothing at all).
March 2026 (Moscow) by group and subtree, non-cancelled orders only:

| order | who   | lines                                   |
|-------|-------|-----------------------------------------|
| o1    | Anna  | Goods 100, Tools 20, free text 5        |
| o2    | Boris | Drills 300, Services 40 (completed)     |
| o3    | Anna  | Drills 1000 — cancelled: not counted    |
| o4    | Anna  | Goods 7000 — February                   |
| o5    | Boris | Tools 60, a product without a group 8   |
| o6    | —     | Services 11                             |
| o7    | —     | Services 99999 — April                  |

Drills 300 (o2); Tools 20 + 60 + 300 = 380 (o1, o2, o5); Goods 100 + 380 = 480 (same
three orders); Services 40 + 11 = 51 (o2, o6); ungrouped 5 + 8 = 13 (o1, o5); all 544.
Plans: see ``build_groups``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from crm_core.models import Employee, OrderLine, Product, ProductGroup
from crm_core.plans.service import set_plan
from tests.crm_core.analytics.dataset import (
    APRIL_STARTS,
    JUST_BEFORE_APRIL,
    JUST_BEFORE_MARCH,
    MARCH_STARTS,
    utc,
)
from tests.factories.activity import make_customer, make_employee, make_order


@dataclass
class Groups:
    anna: Employee
    boris: Employee
    goods: ProductGroup
    tools: ProductGroup
    drills: ProductGroup
    services: ProductGroup
    install: ProductGroup
    empty: ProductGroup


async def _group(s, name: str, position: int, parent: ProductGroup | None = None):
    group = ProductGroup(name=name, position=position, parent_id=parent.id if parent else None)
    s.add(group)
    await s.flush()
    return group


async def _product(s, name: str, group: ProductGroup | None) -> Product:
    product = Product(
        name=name,
        group_id=group.id if group else None,
        created_at=MARCH_STARTS,
        updated_at=MARCH_STARTS,
    )
    s.add(product)
    await s.flush()
    return product


async def _order(s, customer, date, lines, **fields):
    """An order whose total is the sum of its (product, amount) lines."""
    total = sum(Decimal(a) for _, a in lines)
    order = await make_order(s, customer=customer, date=date, total=total, **fields)
    for position, (product, amount) in enumerate(lines):
        s.add(
            OrderLine(
                order_id=order.id,
                position=position,
                product_id=product.id if product else None,
                name=product.name if product else "Free text",
                quantity=Decimal(1),
                price=Decimal(amount),
                amount=Decimal(amount),
            )
        )
    await s.flush()
    return order


async def build_groups(s) -> Groups:
    anna = await make_employee(s, name="Anna")
    boris = await make_employee(s, name="Boris")
    customer = await make_customer(s)
    goods = await _group(s, "Goods", 1)
    services = await _group(s, "Services", 2)
    empty = await _group(s, "Empty", 3)
    tools = await _group(s, "Tools", 0, goods)
    drills = await _group(s, "Drills", 0, tools)
    install = await _group(s, "Install", 0, services)
    p_goods, p_tools, p_drills, p_services, p_loose = [
        await _product(s, name, group)
        for name, group in (
            ("Box", goods),
            ("Hammer", tools),
            ("Drill", drills),
            ("Repair", services),
            ("Loose", None),
        )
    ]
    a, b = {"responsible_id": anna.id}, {"responsible_id": boris.id}
    await _order(s, customer, utc(10), [(p_goods, "100"), (p_tools, "20"), (None, "5")], **a)
    await _order(
        s, customer, utc(12), [(p_drills, "300"), (p_services, "40")], state="completed", **b
    )
    await _order(s, customer, utc(20), [(p_drills, "1000")], state="cancelled", **a)
    await _order(s, customer, JUST_BEFORE_MARCH, [(p_goods, "7000")], **a)
    await _order(s, customer, JUST_BEFORE_APRIL, [(p_tools, "60"), (p_loose, "8")], **b)
    await _order(s, customer, utc(15), [(p_services, "11")])
    await _order(s, customer, APRIL_STARTS, [(p_services, "99999")])
    # March: Goods has a firm row (1000) that wins over Anna's 300 + Boris's 500;
    # Tools has only employees' rows (100 + 150); Services has none, so it plans its
    # subgroup Install's 70. Rows without a group and February's are not group plans.
    for employee, group, amount in (
        (None, goods, "1000"),
        (anna, goods, "300"),
        (boris, goods, "500"),
        (anna, tools, "100"),
        (boris, tools, "150"),
        (boris, install, "70"),
        (anna, None, "1000"),
    ):
        await set_plan(
            s,
            period="2026-03",
            employee_id=employee.id if employee else None,
            product_group_id=group.id if group else None,
            amount=amount,
        )
    await set_plan(s, period="2026-02", employee_id=anna.id, product_group_id=goods.id, amount=5)
    await set_plan(s, period="2026-04", product_group_id=services.id, amount="400")
    return Groups(anna, boris, goods, tools, drills, services, install, empty)
