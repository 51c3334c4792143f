"""The demo's leads: requests from every door, worked, converted, hidden, repeated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from crm_core.context import now
from crm_core.demo.data import LEAD_COMMENTS, UTM
from crm_core.demo.orders import OrderPlan, new_plan, started
from crm_core.demo.people import CustomerSpec, translit
from crm_core.demo.world import World
from crm_core.events.service import create_event
from crm_core.leads.service import convert_lead, create_lead, hide_lead, intake_lead, update_lead

SOURCES = ("web_form", "telegram", "store", "manual", "import", "api")
DETAILS = {"import": "Выставка «Дом и интерьер»", "api": "Авито", "store": "Интернет-магазин"}
LEAD_COMPANIES = ("Кафе «Ромашка»", "Бутик-отель «Остоженка»", "Офис «Логистика Плюс»")
# outcome, state, count, (youngest, oldest) age in days
OUTCOMES = [
    ("open", "new", 6, (0, 3)),
    ("open", "in_work", 5, (2, 12)),
    ("open", "offer", 3, (5, 14)),
    ("convert", "in_work", 4, (25, 160)),
    ("convert_order", "in_work", 6, (15, 170)),
    ("hide:spam", "new", 2, (3, 60)),
    ("hide:duplicate", "new", 2, (5, 80)),
    ("hide:not_target", "in_work", 1, (10, 90)),
    ("hide:no_answer", "in_work", 2, (10, 90)),
    ("hide:refused", "offer", 2, (15, 90)),
]
HIDE_COMMENTS = {
    "spam": "Реклама SEO-услуг",
    "duplicate": "Та же заявка уже в работе",
    "not_target": "Искали офисную мебель оптом от 500 шт.",
    "no_answer": "Три звонка без ответа, письмо без ответа",
    "refused": "Бюджет меньше наших цен",
}
REPEATS = ("Уточню: нужна ещё доставка", "Напишите, пожалуйста, в Telegram", "Есть ли скидка?")


@dataclass
class LeadSpec:
    name: str
    source: str
    outcome: str
    state: str
    day: int
    hour: int
    responsible: int | None
    phone: str | None = None
    email: str | None = None
    company: str | None = None
    telegram_id: int | None = None
    comment: str | None = None
    utm: tuple = (None, None, None)
    repeat: bool = False
    customer: CustomerSpec | None = None
    order: OrderPlan | None = None
    duplicate_of: LeadSpec | None = None
    id: int | None = None
    convert_day: int | None = None


def plan_leads(world: World) -> list[LeadSpec]:
    rng, specs = world.rng, []
    for outcome, state, count, (young, old) in OUTCOMES:
        for _ in range(count):
            person = world.people()
            spec = LeadSpec(
                name=person.name,
                source="",
                outcome=outcome,
                state=state,
                day=-rng.randint(young, old),
                hour=rng.randint(9, 21),
                responsible=rng.randrange(world.team),
                phone=world.phones() if rng.random() < 0.85 else None,
                email=world.people.email(person) if rng.random() < 0.6 else None,
                comment=rng.choice(LEAD_COMMENTS) if rng.random() < 0.8 else None,
            )
            specs.append(spec)
    rng.shuffle(specs)
    for i, spec in enumerate(specs):
        spec.source = SOURCES[i % len(SOURCES)]
        if spec.source in ("web_form", "api", "store"):
            spec.utm = rng.choice(UTM)
        if spec.source == "telegram":
            spec.telegram_id = rng.randint(10**8, 7 * 10**9)
        if not (spec.phone or spec.email or spec.telegram_id):
            spec.phone = world.phones()
        if spec.outcome.startswith("convert") and rng.random() < 0.35:
            spec.company = rng.choice(LEAD_COMPANIES)
    originals = [s for s in specs if s.outcome == "open" and s.state != "new" and s.phone]
    for spec in specs:
        if spec.outcome == "hide:spam":
            spec.name, spec.source, spec.phone, spec.company = "", "web_form", None, None
            spec.telegram_id = None
            spec.email = f"seo-{rng.randint(100, 999)}@example.net"
            spec.comment = "Продвижение сайтов в ТОП-10! Звоните!"
        elif spec.outcome == "hide:duplicate":
            original = originals.pop()
            spec.duplicate_of, spec.source, spec.telegram_id = original, "manual", None
            spec.name, spec.phone, spec.email = original.name, original.phone, None
            spec.day, spec.hour, spec.utm = original.day, original.hour, (None, None, None)
        elif spec.outcome == "open" and spec.state == "new" and spec.day > -2:
            spec.responsible = None  # fresh requests nobody has taken yet
    for spec in [s for s in specs if s.outcome == "open" and s.phone][:3]:
        spec.repeat = True
    for spec in specs:
        if spec.outcome.startswith("convert"):
            kind = "company" if spec.company else "person"
            day = spec.day + rng.randint(1, 6)
            spec.convert_day = day
            spec.customer = CustomerSpec(
                name=spec.company or spec.name,
                kind=kind,
                day=day,
                responsible=spec.responsible or 0,
                phones=[],
                emails=[],
            )
            if spec.outcome == "convert_order":
                spec.order = new_plan(world, spec.customer, day)
                spec.order.by_lead = True
    return sorted(specs, key=lambda s: (s.day, s.hour))


def schedule_leads(world: World) -> None:
    tl, rng = world.tl, world.rng
    for spec in world.leads:
        start = tl.moment(spec.day, spec.hour, rng.randint(0, 59))
        if spec.duplicate_of is not None:
            start += timedelta(minutes=rng.randint(60, 180))
        by = _manager(world, spec) if spec.source == "manual" else None
        tl.at(start, _arrival(world, spec), by=by)


def _manager(world: World, spec: LeadSpec) -> int | None:
    return None if spec.responsible is None else world.manager(spec.responsible)


def _arrival(world: World, spec: LeadSpec):
    async def run() -> None:
        session, rng = world.session, world.rng
        utm = dict(zip(("utm_source", "utm_medium", "utm_campaign"), spec.utm, strict=True))
        fields = dict(
            name=spec.name,
            phones=[spec.phone] if spec.phone else [],
            emails=[spec.email] if spec.email else [],
            company=spec.company,
            source=spec.source,
            source_detail=DETAILS.get(spec.source),
            comment=spec.comment,
            **utm,
        )
        if spec.telegram_id:
            fields["telegram_id"] = spec.telegram_id
            fields["telegram_username"] = translit(spec.name.split()[0]) + str(rng.randint(1, 99))
        if spec.source == "manual":
            result = await create_lead(
                session, dedupe=False, responsible_id=_manager(world, spec), **fields
            )
        else:
            data = {"form": "Расчёт стоимости", "page_url": "https://uyutny-dom.ru/catalog"}
            result = await intake_lead(
                session, data=data if spec.source == "web_form" else None, **fields
            )
        spec.id = result.lead.id
        _follow_up(world, spec, now(session))

    return run


def _follow_up(world: World, spec: LeadSpec, at) -> None:
    """What happened to the lead after it arrived, each step at its own time."""
    tl, rng = world.tl, world.rng
    by = _manager(world, spec)
    session = world.session
    if spec.outcome == "hide:spam":
        tl.at(
            at + timedelta(minutes=20),
            lambda: hide_lead(session, spec.id, reason="spam"),
            by=world.admin,
        )
        return
    if by and spec.source != "manual":
        assign = lambda: update_lead(session, spec.id, responsible_id=by)  # noqa: E731
        tl.at(at + timedelta(minutes=rng.randint(5, 40)), assign, by=world.admin)
    if spec.outcome == "hide:duplicate":
        tl.at(at + timedelta(minutes=30), _hide(world, spec, "duplicate"), by=by)
        return
    if spec.state in ("in_work", "offer"):
        call = at + timedelta(hours=rng.uniform(0.7, 3))
        tl.at(call, _call(world, spec), by=by)
        tl.at(
            call + timedelta(minutes=10),
            lambda: update_lead(session, spec.id, state="in_work"),
            by=by,
        )
    if spec.state == "offer":
        sent = at + timedelta(days=rng.uniform(1, 3))
        tl.at(sent, _offer(world, spec), by=by)
    if spec.repeat:
        again = at + (tl.today - at) * rng.uniform(0.3, 0.9)
        tl.at(again, _repeat(world, spec), by=None)
    if spec.outcome.startswith("convert"):
        tl.at(
            tl.moment(spec.convert_day, rng.randint(10, 18), rng.randint(0, 59)),
            _convert(world, spec),
            by=by,
        )
    elif spec.outcome.startswith("hide:"):
        reason = spec.outcome.split(":")[1]
        tl.at(at + timedelta(days=rng.uniform(3.5, 8)), _hide(world, spec, reason), by=by)


def _hide(world: World, spec: LeadSpec, reason: str):
    async def run() -> None:
        await hide_lead(world.session, spec.id, reason=reason, comment=HIDE_COMMENTS[reason])

    return run


def _call(world: World, spec: LeadSpec):
    body = "Выяснили потребность, бюджет и сроки"
    if spec.outcome == "hide:no_answer":
        body = "Не дозвонились, отправили письмо"

    async def run() -> None:
        await create_event(
            world.session,
            kind="call",
            state="completed",
            direction="outgoing",
            subject="Первичный звонок по заявке",
            body=body,
            employee_id=_manager(world, spec),
            lead_id=spec.id,
            ends_at=now(world.session) + timedelta(minutes=world.rng.randint(4, 15)),
        )

    return run


def _offer(world: World, spec: LeadSpec):
    async def run() -> None:
        await create_event(
            world.session,
            kind="email",
            state="completed",
            direction="outgoing",
            subject="Коммерческое предложение",
            body="Отправили КП с расчётом и сроками",
            employee_id=_manager(world, spec),
            lead_id=spec.id,
        )
        await update_lead(world.session, spec.id, state="offer")

    return run


def _repeat(world: World, spec: LeadSpec):
    async def run() -> None:
        await intake_lead(
            world.session,
            name=spec.name,
            phones=[spec.phone],
            source="telegram",
            telegram_id=world.rng.randint(10**8, 7 * 10**9),
            comment=world.rng.choice(REPEATS),
        )

    return run


def _convert(world: World, spec: LeadSpec):
    async def run() -> None:
        customer, order = await convert_lead(
            world.session, spec.id, create_order=spec.order is not None
        )
        spec.customer.id = customer.id
        if order is not None:
            await started(world, spec.order, order, fill=True)

    return run
