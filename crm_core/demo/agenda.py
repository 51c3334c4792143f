"""The managers' calendars and to-do lists: events of every kind and state, tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from crm_core.context import now
from crm_core.demo.timeline import FIRM_ZONE
from crm_core.demo.world import World
from crm_core.events.service import create_event, update_event
from crm_core.tasks.service import cancel_task, complete_task, create_task

CALLS = ("Уточнить размеры", "Согласовать дату доставки", "Обсудить КП", "Напомнить о замере")
MEETINGS = ("Встреча в шоуруме", "Замер на объекте", "Показать образцы тканей")
TASKS = (
    "Подготовить КП",
    "Согласовать ткань для перетяжки",
    "Выставить счёт",
    "Проверить наличие на складе",
    "Отправить фото образцов",
)
Links = Callable[[], dict]


def _event(world: World, when: datetime, by: int, links: Links, **fields):
    async def run() -> None:
        await create_event(world.session, employee_id=by, **links(), **fields)

    world.tl.at(when, run, by=by)


def _future(world: World, employee: int, day: int, hour: int, minute: int = 0) -> datetime:
    """The first working hour from ``day`` days ahead at ``hour`` o'clock that is still to
    come and free in the employee's calendar (one event an hour: nothing overlaps)."""
    busy = world.busy.setdefault(employee, set())
    while True:
        when = world.tl.moment(day, hour)
        weekday = when.astimezone(FIRM_ZONE).weekday()
        if when > world.tl.today and weekday < 5 and (day, hour) not in busy:
            busy.add((day, hour))
            return when + timedelta(minutes=minute)
        day, hour = (day, hour + 1) if hour < 17 else (day + 1, 10)


def schedule_planned(world: World) -> None:
    """Calls and meetings this week and next in every manager's calendar."""
    rng, tl = world.rng, world.tl
    for index, manager in enumerate(world.managers):
        mine = [c for c in world.customers if c.responsible == index and c.day <= -2]
        leads = [s for s in world.leads if s.responsible == index and s.outcome == "open"]
        leads = [s for s in leads if s.day <= -1]
        targets = [("customer_id", c, c.day) for c in mine] + [("lead_id", s, s.day) for s in leads]
        for n in range(rng.randint(4, 6)):
            field, target, born = targets[(n * 7 + index) % len(targets)]
            meeting = rng.random() < 0.4
            minute = 0 if meeting else rng.choice((0, 15, 30))
            starts = _future(world, manager, rng.randint(0, 11), rng.randint(10, 17), minute)
            length = timedelta(hours=1) if meeting else timedelta(minutes=15)
            remind = starts - (timedelta(hours=1) if meeting else timedelta(minutes=15))
            _event(
                world,
                tl.moment(max(born + 1, -3), 9, rng.randint(0, 59)),
                manager,
                lambda f=field, t=target: {f: t.id},
                kind="meeting" if meeting else "call",
                subject=rng.choice(MEETINGS if meeting else CALLS),
                importance=rng.choice(("high", "normal", "normal", "low")),
                direction=None if meeting else "outgoing",
                starts_at=starts,
                ends_at=starts + length,
                remind_at=remind,
            )
    team = _future(world, world.admin, rng.randint(5, 9), 11)
    _event(
        world,
        tl.moment(-4, 12),
        world.admin,
        dict,
        kind="other",
        importance="high",
        subject="Выставка «Дом и интерьер»: дежурство на стенде",
        starts_at=team,
        ends_at=team + timedelta(hours=6),
        remind_at=team - timedelta(days=1),
    )


def schedule_history(world: World) -> None:
    """What already happened: calls about orders, SMS, Telegram, meetings, cancellations."""
    rng, tl = world.rng, world.tl
    for i, plan in enumerate(p for p in world.orders if p.day <= -3):
        by = world.manager(plan.customer.responsible)
        ref = lambda p=plan: {"order_id": p.id, "customer_id": p.customer.id}  # noqa: E731
        when = tl.moment(plan.day + 1, rng.randint(10, 17), rng.randint(0, 59))
        if i % 2 == 0:
            _event(
                world,
                when,
                by,
                ref,
                kind="call",
                state="completed",
                direction="outgoing",
                subject="Подтверждение заказа",
                body="Подтвердили состав, адрес и сроки",
                starts_at=when,
                ends_at=when + timedelta(minutes=6),
            )
        if plan.fate in ("completed", "done_open") and i % 3 == 0:
            at = tl.moment(plan.day + 2, 12)
            _event(
                world,
                at,
                by,
                ref,
                kind="sms",
                state="completed",
                direction="outgoing",
                subject="Заказ готов к отгрузке",
                starts_at=at,
            )
        if plan.fate == "overdue" and i % 2 == 1:
            at = when + timedelta(hours=2)
            _event(
                world,
                at,
                by,
                ref,
                kind="telegram",
                state="completed",
                direction="incoming",
                subject="Клиент спрашивает о сроках",
                importance="high",
                starts_at=at,
            )
    old = [c for c in world.customers if c.day <= -20]
    for n, spec in enumerate(old[:8]):
        by = world.manager(spec.responsible)
        ref = lambda s=spec: {"customer_id": s.id}  # noqa: E731
        at = tl.moment(spec.day + rng.randint(1, 15), rng.randint(11, 17))
        if n < 4:
            _event(
                world,
                at,
                by,
                ref,
                kind="meeting",
                state="completed",
                subject="Встреча в шоуруме",
                body="Подобрали ткани и отделку",
                starts_at=at,
                ends_at=at + timedelta(hours=1),
            )
        elif n < 6:
            _event(
                world,
                at,
                by,
                ref,
                kind="other",
                state="completed",
                importance="low",
                subject="Подготовлен дизайн-проект",
                starts_at=at,
            )
        else:
            _event(
                world,
                at,
                by,
                ref,
                kind="meeting",
                state="cancelled",
                subject="Замер на объекте",
                body="Клиент перенёс встречу",
                starts_at=at + timedelta(days=1),
                ends_at=at + timedelta(days=1, hours=1),
            )
    # Planned, then called off: the history shows both.
    spec = old[-1]
    by = world.manager(spec.responsible)
    starts = _future(world, by, rng.randint(2, 6), 15)

    async def call_off() -> None:
        event = await create_event(
            world.session,
            employee_id=by,
            customer_id=spec.id,
            kind="meeting",
            subject="Встреча в шоуруме",
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
        )
        world.tl.at(now(world.session) + timedelta(hours=3), _cancel(world, event.id), by=by)

    tl.at(tl.moment(-2, 10), call_off, by=by)


def _cancel(world: World, event_id: int):
    async def run() -> None:
        await update_event(world.session, event_id, state="cancelled", body="Клиент заболел")

    return run


def schedule_tasks(world: World) -> None:
    """Open tasks ahead, overdue ones, done and cancelled ones."""
    rng, tl = world.rng, world.tl
    plans = [p for p in world.orders if p.day <= -3]
    late = [p for p in plans if p.fate == "overdue"] or plans
    kinds = ["open"] * 6 + ["overdue"] * 4 + ["done"] * 6 + ["cancelled"]
    for n, kind in enumerate(kinds):
        plan = late[n % len(late)] if kind == "overdue" else plans[(n * 5) % len(plans)]
        by = world.manager(plan.customer.responsible)
        day = max(plan.day + 1, -20 if kind == "done" else -6)
        if kind == "open":
            due = tl.moment(rng.randint(1, 7), 18)
        elif kind == "overdue":
            due = tl.moment(max(day + 1, -rng.randint(1, 5)), 18)
        else:
            due = tl.moment(day + rng.randint(1, 4), 18)
        subject = "Напомнить об оплате" if kind == "overdue" else TASKS[n % len(TASKS)]
        closed = due - timedelta(hours=rng.uniform(2, 6))

        async def run(plan=plan, kind=kind, due=due, subject=subject, by=by, closed=closed):
            task = await create_task(
                world.session,
                subject=f"{subject} ({plan.customer.name})",
                assignee_id=by,
                due_at=due,
                remind_at=due - timedelta(hours=2) if kind != "done" else None,
                importance="high" if kind == "overdue" else "normal",
                customer_id=plan.customer.id,
                order_id=plan.id,
            )
            if kind == "done":
                world.tl.at(closed, _close(world, task.id, complete_task), by=by)
            elif kind == "cancelled":
                world.tl.at(closed, _close(world, task.id, cancel_task), by=by)

        tl.at(tl.moment(day, 9, rng.randint(0, 59)), run, by=by)


def _close(world: World, task_id: int, how):
    async def run() -> None:
        await how(world.session, task_id)

    return run
