"""The demo firm: complete, believable, loaded once, and loadable from the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm_core.customers.common import validate_inn
from crm_core.customers.service import create_customer
from crm_core.demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_MANAGER_PASSWORD, load_demo
from crm_core.demo.data import CATALOG, COMPANIES, FIRM
from crm_core.employees.service import authenticate
from crm_core.invoices.firm import get_firm
from crm_core.leads.states import list_hide_reasons, list_lead_states
from crm_core.models import (
    Base,
    ContactPerson,
    Customer,
    Employee,
    Event,
    HideReason,
    Invoice,
    Lead,
    LeadSource,
    LeadState,
    Order,
    OrderIndicator,
    OrderState,
    OutboxEvent,
    OutboxStatus,
    Product,
    ProductKind,
    SalesPlan,
    Task,
    Template,
)
from crm_core.orders.service import indicator_of


async def _row_counts(session) -> dict[str, int]:
    return {
        t.name: await session.scalar(select(func.count()).select_from(t))
        for t in Base.metadata.sorted_tables
    }


async def _check_firm(s, today: datetime) -> None:
    """Everything the demo promises, read back through the database."""
    staff = {e.email: e for e in await s.scalars(select(Employee))}
    assert staff[DEMO_ADMIN_EMAIL].role.value == "admin"
    assert await authenticate(s, email=DEMO_ADMIN_EMAIL, password=DEMO_ADMIN_PASSWORD)
    managers = [e for e in staff.values() if e.role.value == "manager"]
    assert len(managers) == 3
    assert await authenticate(s, email=managers[0].email, password=DEMO_MANAGER_PASSWORD)
    assert (await get_firm(s))["inn"] == FIRM["inn"]

    products = list(await s.scalars(select(Product).options(selectinload(Product.prices))))
    assert len(products) == sum(len(items) for items in CATALOG.values()) >= 30
    assert all(len(p.prices) == 2 and all(x.price > 0 for x in p.prices) for p in products)
    assert all(p.stock >= 0 and p.group_id for p in products)
    assert {p.kind for p in products} == set(ProductKind)

    customers = list(await s.scalars(select(Customer)))
    assert 45 <= len(customers) <= 55
    companies = [c for c in customers if c.kind.value == "company"]
    assert len([c for c in companies if c.inn]) == len(COMPANIES)
    assert all(validate_inn(c.inn) for c in companies if c.inn)
    assert await s.scalar(select(func.count(ContactPerson.id))) >= len(COMPANIES)
    assert all(c.responsible_id for c in customers)

    leads = list(await s.scalars(select(Lead)))
    states = {st.id: st.code for st in await list_lead_states(s)}
    open_by_state = Counter(states[x.state_id] for x in leads if x.result.value == "open")
    assert set(open_by_state) == set(states.values()) and min(open_by_state.values()) >= 2
    by_result = Counter(x.result.value for x in leads)
    assert by_result["converted"] >= 5 and by_result["hidden"] >= 5 and by_result["open"] >= 10
    converted = [x for x in leads if x.result.value == "converted"]
    assert all(x.customer_id for x in converted)
    assert any(x.order_id for x in converted) and any(not x.order_id for x in converted)
    reasons = {r.id: r.code for r in await list_hide_reasons(s)}
    assert {reasons[x.hide_reason_id] for x in leads if x.hide_reason_id} == set(reasons.values())
    assert {x.source for x in leads} == set(LeadSource)
    assert any(x.utm_source for x in leads) and any(x.comment for x in leads)
    merged = await s.scalars(select(OutboxEvent.payload).where(OutboxEvent.topic == "lead.merged"))
    merged = list(merged)
    assert any(p["lead_id"] for p in merged) and any(p["customer_id"] for p in merged)

    orders = list(await s.scalars(select(Order)))
    assert 40 <= len(orders) <= 80
    assert {indicator_of(o, today) for o in orders} == set(OrderIndicator)
    used_states = set(await s.scalars(select(OrderState.code).join(Order)))
    assert used_states == set(await s.scalars(select(OrderState.code)))
    assert all(o.total > 0 and o.responsible_id for o in orders)
    assert min(o.date for o in orders) < today - timedelta(days=150)
    open_orders = [o for o in orders if o.category.value == "open"]
    assert any(0 < o.paid_amount < o.total for o in open_orders)
    assert any(0 < o.shipped_amount < o.total for o in open_orders)
    closed = [o for o in orders if o.category.value == "completed"]
    assert all(o.paid_amount == o.total == o.shipped_amount for o in closed)
    assert await s.scalar(select(func.count(Invoice.id))) >= 3

    events = list(await s.scalars(select(Event)))
    assert {(e.kind.value, e.state.value) for e in events} >= {
        ("call", "planned"), ("meeting", "planned"), ("call", "completed"),
        ("meeting", "completed"), ("meeting", "cancelled"), ("email", "completed"),
        ("sms", "completed"), ("telegram", "completed"), ("web_form", "completed"),
        ("other", "completed"),
    }  # fmt: skip
    planned = [e for e in events if e.state.value == "planned"]
    assert all(today < e.starts_at < today + timedelta(days=15) and e.remind_at for e in planned)
    assert {e.employee_id for e in planned} >= {m.id for m in managers}
    assert any(e.order_id for e in events) and any(e.lead_id for e in events)

    tasks = list(await s.scalars(select(Task)))
    kinds = Counter(
        "overdue" if t.state.value == "open" and t.due_at < today else t.state.value for t in tasks
    )
    assert kinds["open"] >= 3 and kinds["overdue"] >= 3 and kinds["done"] >= 3

    month = today.astimezone(ZoneInfo("Europe/Moscow")).date().replace(day=1)
    previous = (month - timedelta(days=1)).replace(day=1)
    plans = {(p.employee_id, p.period): p.amount for p in await s.scalars(select(SalesPlan))}
    for manager in managers:
        assert plans[manager.id, month] > 0 and plans[manager.id, previous] > 0


async def test_demo_firm_has_everything_promised(uow, clock):
    async with uow() as s:
        assert await load_demo(s) is True
    async with uow() as s:
        await _check_firm(s, clock.now())
        kinds = Counter(await s.scalars(select(Template.kind)))
        assert kinds == {k: 1 for k in ("offer", "contract", "letter", "sms", "telegram")}
        # Loaded as the past: nothing is left for notifiers to send today.
        pending = await s.scalar(
            select(func.count()).where(OutboxEvent.status != OutboxStatus.DONE)
        )
        assert pending == 0


async def test_demo_at_new_year_night_and_a_second_load_changes_nothing(uow, clock):
    clock.set(datetime(2025, 12, 31, 21, 30, tzinfo=UTC))  # 00:30 on 1 January in Moscow
    async with uow() as s:
        assert await load_demo(s) is True
    async with uow() as s:
        await _check_firm(s, clock.now())
        before = await _row_counts(s)
    clock.advance(timedelta(days=3))
    async with uow() as s:
        assert await load_demo(s) is False
        assert await load_demo(s, only_if_empty=True) is False
    async with uow() as s:
        assert await _row_counts(s) == before


async def test_only_if_empty_leaves_a_database_with_customers_alone(uow):
    async with uow() as s:
        await create_customer(s, name="Настоящий клиент")
    async with uow() as s:
        assert await load_demo(s, only_if_empty=True) is False
    async with uow() as s:
        assert await s.scalar(select(func.count(Employee.id))) == 0
        assert await s.scalar(select(func.count(Customer.id))) == 1
        assert await s.scalar(select(func.count(LeadState.id))) == 2
        assert await s.scalar(select(func.count(HideReason.id))) == 5


def _firma(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FIRMA_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "firma", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def db_url(engine, sessions) -> str:
    return engine.url.render_as_string(hide_password=False)


async def test_firma_demo_from_the_command_line(db_url, sessions):
    done = _firma(db_url, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    done = _firma(db_url, "demo", "--if-empty")
    assert done.returncode == 0, done.stderr
    assert "demo data loaded" in done.stdout
    assert f"{DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}" in done.stdout
    done = _firma(db_url, "demo")
    assert done.returncode == 0, done.stderr
    assert "already present" in done.stdout and DEMO_ADMIN_EMAIL in done.stdout
    async with sessions() as s:
        assert await s.scalar(select(func.count(Customer.id))) >= 45
        assert await s.scalar(select(func.count(Employee.id))) == 4
