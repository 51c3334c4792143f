"""``load_demo``: the demo firm «Уютный дом» with half a year of history, built through
the core services only, the same for the same seed and clock, loaded at most once."""

from __future__ import annotations

import random
from datetime import date
from decimal import ROUND_CEILING, Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.catalog.groups import create_group, create_price_kind, list_price_kinds
from crm_core.catalog.service import create_product
from crm_core.context import now
from crm_core.demo import agenda
from crm_core.demo.customers import plan_customers, schedule_customer_requests, schedule_customers
from crm_core.demo.data import CATALOG, EMPLOYEES, FIRM
from crm_core.demo.leads import plan_leads, schedule_leads
from crm_core.demo.orders import assign_fates, plan_orders, schedule_orders, shipped_quantities
from crm_core.demo.people import People, Phones
from crm_core.demo.templates import add_templates
from crm_core.demo.timeline import FIRM_ZONE, Timeline
from crm_core.demo.world import ProductRef, World
from crm_core.employees.service import create_employee
from crm_core.invoices.firm import set_firm
from crm_core.leads.states import create_lead_state, list_lead_states
from crm_core.models import Customer, Employee, OutboxEvent
from crm_core.outbox import mark_as_history
from crm_core.plans.service import set_plan

DEMO_ADMIN_EMAIL = "admin@firma-demo.ru"
DEMO_ADMIN_PASSWORD = "demo-admin-2026"
DEMO_MANAGER_PASSWORD = "demo-manager-2026"
FOUNDED = -210  # days before today: staff, catalog and settings appear then
PLAN_MONTHS = 7  # the current month and six before it
PRICE_KINDS = (("retail", "Розничная"), ("wholesale", "Оптовая"))


async def load_demo(
    session: AsyncSession, *, only_if_empty: bool = False, seed: int = 2026
) -> bool:
    """Load the demo firm into the session's transaction; False (and nothing done) when it
    is there already, or when ``only_if_empty`` and the database has customers."""
    if await session.scalar(select(Employee.id).where(Employee.email == DEMO_ADMIN_EMAIL)):
        return False
    if only_if_empty and await session.scalar(select(Customer.id).limit(1)):
        return False
    last_event = await session.scalar(select(func.max(OutboxEvent.id))) or 0
    rng = random.Random(seed)
    tl = Timeline(session, now(session))
    world = World(session, rng, tl, People(rng), Phones(rng))
    world.team = sum(1 for _, _, role in EMPLOYEES if role == "manager")
    # Decide everything first (the stock must cover what will be shipped), then live it.
    world.customers = plan_customers(world)
    direct = plan_orders(world)
    world.leads = plan_leads(world)
    world.orders = sorted(
        direct + [s.order for s in world.leads if s.order is not None], key=lambda p: p.day
    )
    assign_fates(world, world.orders)
    shipped = shipped_quantities(world.orders)
    tl.at(tl.moment(FOUNDED, 9), lambda: _staff(world))
    tl.at(tl.moment(FOUNDED, 10), lambda: _settings(world))
    tl.at(tl.moment(FOUNDED, 11), lambda: _catalog(world, shipped))
    await tl.play()
    schedule_customers(world)
    schedule_leads(world)
    schedule_customer_requests(world)
    schedule_orders(world, world.orders)
    agenda.schedule_history(world)
    agenda.schedule_planned(world)
    agenda.schedule_tasks(world)
    await tl.play()
    await _sales_plans(world)
    # Half a year of history is not news: no manager should be notified of it today.
    await mark_as_history(session, after_id=last_event)
    return True


async def _staff(world: World) -> None:
    for name, email, role in EMPLOYEES:
        employee = await world.session.scalar(select(Employee).where(Employee.email == email))
        if employee is None:
            password = DEMO_ADMIN_PASSWORD if role == "admin" else DEMO_MANAGER_PASSWORD
            employee = await create_employee(
                world.session, name=name, email=email, role=role, password=password
            )
        world.tl.staff[employee.id] = employee.name
        if role == "admin":
            world.admin = employee.id
        else:
            world.managers.append(employee.id)


async def _settings(world: World) -> None:
    session = world.session
    await set_firm(session, FIRM)
    if not any(s.code == "offer" for s in await list_lead_states(session, include_inactive=True)):
        await create_lead_state(session, code="offer", name="Отправлено КП")
    have = {k.code: k.id for k in await list_price_kinds(session)}
    for code, name in PRICE_KINDS:
        if code not in have:
            have[code] = (await create_price_kind(session, code=code, name=name)).id
    world.price_kinds = have
    await add_templates(session)


async def _catalog(world: World, shipped: dict[str, Decimal]) -> None:
    for position, (group, items) in enumerate(CATALOG.items()):
        group_id = (await create_group(world.session, name=group, position=position)).id
        for sku, name, kind, unit, retail, wholesale, stock, vat in items:
            product = await create_product(
                world.session,
                sku=sku,
                name=name,
                kind=kind,
                unit=unit,
                group_id=group_id,
                vat_rate=vat,
                stock=Decimal(stock) + shipped.get(sku, 0) if kind == "goods" else 0,
                prices={"retail": retail, "wholesale": wholesale},
            )
            world.products[sku] = ProductRef(sku, kind, group, Decimal(retail), product.id)


def _month(day: date, back: int) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


async def _sales_plans(world: World) -> None:
    """A monthly plan per manager: about what they sold (a month is 80-105 % done)."""
    today = world.tl.local_today
    sold: dict[tuple[date, int], Decimal] = {}
    for plan in world.orders:
        if plan.fate == "cancelled" or plan.when is None:
            continue
        local = plan.when.astimezone(FIRM_ZONE).date()
        key = (local.replace(day=1), world.manager(plan.customer.responsible))
        sold[key] = sold.get(key, Decimal(0)) + plan.total
    for manager in world.managers:
        previous = Decimal(0)
        for back in range(PLAN_MONTHS - 1, -1, -1):
            month = _month(today, back)
            base = sold.get((month, manager), Decimal(0))
            if not back:  # the month is not over: more than last month, more than sold so far
                base = max(base, previous)
            factor = Decimal(world.rng.randint(95, 125)) / 100
            amount = max(Decimal(150000), base * factor)
            amount = (amount / 10000).to_integral_value(ROUND_CEILING) * 10000
            await set_plan(world.session, period=month, amount=amount, employee_id=manager)
            previous = amount
