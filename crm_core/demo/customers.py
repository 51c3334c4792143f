"""The demo firm's customers: companies with contact persons, and private persons."""

from __future__ import annotations

from crm_core.customers.persons import create_contact_person
from crm_core.customers.service import create_customer, set_consent
from crm_core.demo.data import COMPANIES, STREETS
from crm_core.demo.people import CustomerSpec, company_domain
from crm_core.demo.world import World
from crm_core.leads.service import intake_lead
from crm_core.models import LeadSource

PERSONS = 28  # + the companies of data.py + customers from converted leads ≈ 50
PERSON_TAGS = ("повторный", "vip", "дизайн-проект", "сборка", "самовывоз", "рассылка")
COMPANY_TAGS = ("опт", "b2b", "horeca", "офис", "постоянный")
POSITIONS = ("директор", "администратор", "менеджер по закупкам", "бухгалтер", "управляющий")
COMMENTS = (
    "Предпочитает связь в мессенджере",
    "Звонить после 12:00",
    "Живёт за городом, доставка только по выходным",
    "Рекомендация от знакомых",
    "Интересуется новинками из дуба",
)
CONSENT_SOURCES = ("Анкета в шоуруме", "Заявка на сайте", "Договор поставки")


def _address(world: World) -> str:
    rng = world.rng
    return f"г. Москва, {rng.choice(STREETS)}, д. {rng.randint(1, 60)}, кв. {rng.randint(1, 180)}"


def _company(world: World, index: int, name: str, legal: str, inn: str) -> CustomerSpec:
    rng = world.rng
    domain = company_domain(name)
    persons = []
    for _ in range(rng.choice((1, 1, 2))):
        person = world.people()
        persons.append(
            (person.name, rng.choice(POSITIONS), world.phones(), world.people.email(person, domain))
        )
    return CustomerSpec(
        name=name,
        kind="company",
        day=-rng.randint(120, 200),
        responsible=index % world.team,
        phones=[world.phones()],
        emails=[f"info@{domain}"],
        legal_name=legal,
        inn=inn,
        tags=rng.sample(COMPANY_TAGS, rng.randint(1, 2)),
        consents={"email": True} if rng.random() < 0.6 else {},
        address=f"г. Москва, {rng.choice(STREETS)}, д. {rng.randint(1, 60)}",
        source=rng.choice(("manual", "import")),
        persons=persons,
        wholesale=True,
    )


def _person(world: World, index: int) -> CustomerSpec:
    rng = world.rng
    person = world.people()
    phones = [world.phones()] + ([world.phones()] if rng.random() < 0.15 else [])
    consents: dict[str, bool] = {}
    roll = rng.random()
    if roll < 0.45:
        consents = {"email": True}
    elif roll < 0.6:
        consents = {"email": True, "sms": False}
    elif roll < 0.7:
        consents = {"telegram": True, "email": False}
    return CustomerSpec(
        name=person.name,
        kind="person",
        day=-rng.randint(3, 190),
        responsible=index % world.team,
        phones=phones,
        emails=[world.people.email(person)] if rng.random() < 0.8 else [],
        tags=rng.sample(PERSON_TAGS, rng.choice((0, 1, 1, 2))),
        consents=consents,
        address=_address(world) if rng.random() < 0.4 else None,
        source=rng.choice(("manual", "store", "manual", "import")),
        comment=rng.choice(COMMENTS) if rng.random() < 0.25 else None,
    )


def plan_customers(world: World) -> list[CustomerSpec]:
    specs = [_company(world, i, *row) for i, row in enumerate(COMPANIES)]
    specs += [_person(world, i) for i in range(PERSONS)]
    specs.sort(key=lambda s: s.day)
    return specs


def schedule_customers(world: World) -> None:
    """Each customer is entered by its manager on its day; a few unsubscribe later."""
    rng, tl = world.rng, world.tl
    for spec in world.customers:
        by = world.manager(spec.responsible)
        tl.at(
            tl.moment(spec.day, rng.randint(10, 18), rng.randint(0, 59)),
            _creator(world, spec),
            by=by,
        )
    leaving = [s for s in world.customers if s.consents.get("email") and s.kind == "person"][:3]
    for spec in leaving:
        day = min(spec.day + rng.randint(10, 60), -1)
        tl.at(tl.moment(day, 21, rng.randint(0, 59)), _unsubscribe(world, spec))


def _creator(world: World, spec: CustomerSpec):
    async def run() -> None:
        customer = await create_customer(
            world.session,
            name=spec.name,
            kind=spec.kind,
            legal_name=spec.legal_name,
            inn=spec.inn,
            phones=spec.phones,
            emails=spec.emails,
            tags=spec.tags,
            responsible_id=world.manager(spec.responsible),
            consents=spec.consents,
            consent_source=world.rng.choice(CONSENT_SOURCES) if spec.consents else None,
            comment=spec.comment,
            address=spec.address,
            source=LeadSource(spec.source) if spec.source else None,
        )
        spec.id = customer.id
        for name, position, phone, email in spec.persons:
            await create_contact_person(
                world.session,
                customer.id,
                name=name,
                position=position,
                phones=[phone],
                emails=[email],
            )

    return run


def _unsubscribe(world: World, spec: CustomerSpec):
    async def run() -> None:
        await set_consent(
            world.session, spec.id, "email", granted=False, source="Отписка из письма"
        )

    return run


def schedule_customer_requests(world: World) -> None:
    """Old customers write again: the request merges into the customer, no new lead."""
    tl, rng = world.tl, world.rng
    regulars = [c for c in world.customers if c.day < -40 and c.phones][:2]
    for spec, source in zip(regulars, ("web_form", "telegram"), strict=False):

        async def run(spec: CustomerSpec = spec, source: str = source) -> None:
            await intake_lead(
                world.session,
                name=spec.name,
                phones=spec.phones[:1],
                source=source,
                comment="Хотим ещё один такой же комплект",
                data={"form": "Обратный звонок"},
            )

        tl.at(tl.moment(-rng.randint(1, 10), rng.randint(10, 20)), run)
