"""The demo's orders: what was bought, and how each order went (its script)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from crm_core.catalog.common import money
from crm_core.context import now
from crm_core.demo.data import CANCEL_REASONS, COMPANY_GOODS, PERSON_GOODS, SERVICE_ORDERS
from crm_core.demo.people import CustomerSpec
from crm_core.demo.world import World
from crm_core.invoices.service import create_invoice
from crm_core.models import Order
from crm_core.orders.service import (
    LineInput,
    add_order_line,
    change_order_state,
    create_order,
    register_payment,
    register_shipment,
    update_order,
)

FURNITURE = ("ST", "CH", "SH")
OPEN_STATES = ("new", "in_work", "production", "quote")
Script = list[tuple[float, str, Any]]  # (hours after the order was made, operation, argument)


@dataclass
class OrderPlan:
    customer: CustomerSpec
    day: int
    hour: int
    lines: list[tuple[str, Decimal, Decimal]]  # sku, quantity, discount percent
    fate: str = "completed"  # completed, cancelled, overdue, open, done_open
    state: str = "completed"  # the state it ends in
    due_days: int | None = None
    script: Script = field(default_factory=list)
    channel: str = "manual"
    method: str = "card"
    comment: str | None = None
    by_lead: bool = False
    id: int | None = None
    when: datetime | None = None
    total: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    invoice: int | None = None
    line_ids: list[int] = field(default_factory=list)


def _pick(world: World, table: list, count: int) -> list[tuple[str, Decimal, Decimal]]:
    rng = world.rng
    lines = []
    for sku, low, high in rng.sample(table, count):
        lines.append((sku, Decimal(rng.randint(low, high)), Decimal(0)))
    return lines


def make_lines(world: World, company: bool) -> list[tuple[str, Decimal, Decimal]]:
    rng = world.rng
    if not company and rng.random() < 0.2:
        return [
            (s, Decimal(rng.randint(lo, hi)), Decimal(0))
            for s, lo, hi in rng.choice(SERVICE_ORDERS)
        ]
    lines = _pick(world, COMPANY_GOODS if company else PERSON_GOODS, rng.choice((1, 2, 2, 3)))
    if not company and rng.random() < 0.15:
        lines = [(s, q, Decimal(rng.choice((5, 10)))) for s, q, _ in lines]
    if any(sku.startswith(FURNITURE) for sku, _, _ in lines):
        if rng.random() < 0.7:
            lines.append((rng.choice(("SV-001", "SV-001", "SV-002")), Decimal(1), Decimal(0)))
        if rng.random() < 0.5:
            lines.append(("SV-003", Decimal(rng.randint(1, 3) if company else 1), Decimal(0)))
    return lines


def new_plan(world: World, customer: CustomerSpec, day: int) -> OrderPlan:
    rng = world.rng
    company = customer.kind == "company"
    return OrderPlan(
        customer=customer,
        day=day,
        hour=rng.randint(10, 19),
        lines=make_lines(world, company),
        channel="manual" if company else rng.choice(("manual", "manual", "store", "telegram")),
        method="bank" if company else rng.choice(("card", "cash", "online", "card")),
    )


def plan_orders(world: World) -> list[OrderPlan]:
    """Orders of the customers entered directly (lead orders come from the leads)."""
    rng, plans = world.rng, []
    for spec in world.customers:
        count = rng.choice((1, 1, 2, 3)) if spec.kind == "company" else rng.choice((0, 1, 1, 1, 2))
        first = max(spec.day + 1, -180)
        for _ in range(count if first <= 0 else 0):
            plans.append(new_plan(world, spec, rng.randint(first, 0)))
    return plans


def partial(lines: list) -> list[tuple[int, Decimal]]:
    """Which (index, quantity) a partial shipment takes: all lines but the last, or half
    of a single line (the same rule for the plan's lines and the order's)."""
    if len(lines) > 1:
        return [(i, line[1]) for i, line in enumerate(lines[:-1])]
    return [(0, Decimal(int(lines[0][1] / 2)))] if lines[0][1] >= 2 else []


def _fate(world: World, age: int) -> str:
    roll = world.rng.random()
    if age >= 30:
        table = (("completed", 0.78), ("cancelled", 0.88), ("overdue", 0.96), ("done_open", 1))
    elif age >= 10:
        table = (
            ("completed", 0.45),
            ("open", 0.7),
            ("overdue", 0.88),
            ("cancelled", 0.95),
            ("done_open", 1),
        )
    else:
        table = (("open", 0.75), ("completed", 0.87), ("cancelled", 0.95), ("overdue", 1))
    fate = next(name for name, limit in table if roll < limit)
    return "open" if fate == "overdue" and age < 3 else fate


def assign_fates(world: World, plans: list[OrderPlan]) -> None:
    """Decide how each order went; make sure every state and indicator appears."""
    rng = world.rng
    for plan in plans:
        plan.fate = _fate(world, -plan.day)
    wanted = [("overdue", 5, 60), ("done_open", 15, 90), ("cancelled", 3, 60), ("open", 0, 9)]
    for fate, low, high in wanted:
        if not any(p.fate == fate for p in plans):
            candidates = [p for p in plans if low <= -p.day <= high and p.fate == "completed"]
            (candidates or plans)[0].fate = fate
    young = sorted((p for p in plans if p.fate == "completed"), key=lambda p: -p.day)
    while sum(p.fate == "open" for p in plans) < len(OPEN_STATES) + 1 and young:
        young.pop(0).fate = "open"
    opens = [p for p in plans if p.fate == "open"]
    for i, plan in enumerate(opens):
        plan.state = OPEN_STATES[i % len(OPEN_STATES)]
    for plan in plans:
        plan.script = _script(world, plan)
        if plan.fate in ("overdue", "done_open"):
            plan.due_days = rng.randint(2, max(2, -plan.day - 1))
        elif plan.fate == "open":
            plan.due_days = None if rng.random() < 0.2 else -plan.day + rng.randint(3, 20)
        else:
            plan.due_days = rng.randint(5, 21)
        if plan.fate == "cancelled":
            plan.state, plan.comment = "cancelled", rng.choice(CANCEL_REASONS)
        elif plan.fate in ("overdue", "done_open"):
            plan.state = next((a for _, op, a in reversed(plan.script) if op == "state"), "new")


def _script(world: World, plan: OrderPlan) -> Script:
    rng, out, h = world.rng, [], 1.0
    company = plan.customer.kind == "company"
    custom = any(sku in ("SV-007", "ST-004", "SH-001") for sku, _, _ in plan.lines)
    splittable = bool(partial(plan.lines))

    def add(step: float, op: str, arg: Any = None) -> None:
        nonlocal h
        h += step
        out.append((h, op, arg))

    def pay(full: bool) -> None:
        if company and rng.random() < 0.8:
            add(1, "invoice", None if full else Decimal("0.5"))
        add(rng.uniform(6, 40), "pay", None if full else Decimal(rng.choice(("0.3", "0.5"))))

    if plan.fate == "cancelled":
        if rng.random() < 0.6:
            add(rng.uniform(0.5, 4), "state", "in_work")
        add(rng.uniform(20, 90), "state", "cancelled")
        return out
    if plan.fate == "open" and plan.state in ("new", "quote"):
        if plan.state == "quote":
            add(rng.uniform(0.5, 3), "state", "quote")
        return out
    add(rng.uniform(0.5, 4), "state", "in_work")
    prepaid = plan.fate == "overdue" or rng.random() < 0.5
    if prepaid and not (plan.fate == "open" and plan.state == "in_work" and rng.random() < 0.5):
        pay(False)
    if plan.fate == "open":
        if plan.state == "production":
            add(rng.uniform(4, 30), "state", "production")
        return out
    if custom or (plan.fate == "overdue" and rng.random() < 0.5):
        add(rng.uniform(4, 30), "state", "production")
    if plan.fate == "overdue":
        if splittable and rng.random() < 0.6:
            add(rng.uniform(24, 72), "ship", "part")
        return out
    if splittable and rng.random() < 0.3:
        add(rng.uniform(24, 72), "ship", "part")
    add(rng.uniform(24, 96), "ship", "rest")
    pay(True)
    if plan.fate == "completed":
        add(rng.uniform(2, 30), "state", "completed")
    return out


def shipped_quantities(plans: list[OrderPlan]) -> dict[str, Decimal]:
    """How much of each product the demo will ship (its stock must cover that)."""
    out: dict[str, Decimal] = {}
    for plan in plans:
        ops = [a for _, op, a in plan.script if op == "ship"]
        taken = dict(partial(plan.lines)) if ops == ["part"] else None
        for i, (sku, qty, _) in enumerate(plan.lines):
            if ops and (taken is None or i in taken):
                out[sku] = out.get(sku, Decimal(0)) + (qty if taken is None else taken[i])
    return out


def schedule_orders(world: World, plans: list[OrderPlan]) -> None:
    tl = world.tl
    for plan in plans:
        if not plan.by_lead:
            when = tl.moment(plan.day, plan.hour, world.rng.randint(0, 59))
            tl.at(when, _creator(world, plan), by=world.manager(plan.customer.responsible))


def _inputs(world: World, plan: OrderPlan) -> list[LineInput]:
    return [LineInput(world.products[s].id, q, discount_percent=d) for s, q, d in plan.lines]


def _creator(world: World, plan: OrderPlan):
    async def run() -> None:
        company = plan.customer.kind == "company"
        order = await create_order(
            world.session,
            customer_id=plan.customer.id,
            lines=_inputs(world, plan),
            due_at=_due(world, plan),
            channel=plan.channel,
            responsible_id=world.manager(plan.customer.responsible),
            price_kind_id=world.price_kinds["wholesale" if company else "retail"],
            comment=plan.comment,
            delivery_address=plan.customer.address,
        )
        await started(world, plan, order)

    return run


def _due(world: World, plan: OrderPlan) -> datetime | None:
    if plan.due_days is None:
        return None
    return world.tl.moment(plan.day + plan.due_days, 18)


async def started(world: World, plan: OrderPlan, order: Order, *, fill: bool = False) -> None:
    """The order exists: fill it (a lead's empty order) and schedule the rest of its story."""
    session, tl = world.session, world.tl
    plan.id, plan.when = order.id, now(session)
    if fill:
        for line in _inputs(world, plan):
            await add_order_line(session, order.id, line)
        order = await update_order(
            session, order.id, due_at=_due(world, plan), comment=plan.comment
        )
    plan.total = order.total
    plan.line_ids = [line.id for line in sorted(order.lines, key=lambda x: x.position)]
    age = (tl.today - plan.when).total_seconds() / 3600
    last = plan.script[-1][0] if plan.script else 1
    scale = min(1.0, max(age - 0.5, 0) / last)
    by = world.manager(plan.customer.responsible)
    for hours, op, arg in plan.script:
        tl.at(plan.when + timedelta(hours=hours * scale), _step(world, plan, op, arg), by=by)


def _step(world: World, plan: OrderPlan, op: str, arg: Any):
    async def run() -> None:
        session = world.session
        if op == "state":
            await change_order_state(session, plan.id, state_code=arg)
        elif op == "invoice":
            amount = None if arg is None else money(plan.total * arg)
            due = now(session) + timedelta(days=5)
            plan.invoice = (await create_invoice(session, plan.id, amount=amount, due_at=due)).id
        elif op == "pay":
            amount = plan.total - plan.paid if arg is None else money(plan.total * arg)
            await register_payment(
                session, plan.id, amount=amount, method=plan.method, invoice_id=plan.invoice
            )
            plan.paid += amount
        elif op == "ship":
            picked = None
            if arg == "part":
                picked = [(plan.line_ids[i], q) for i, q in partial(plan.lines)]
            await register_shipment(session, plan.id, lines=picked)

    return run
