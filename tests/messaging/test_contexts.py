"""A campaign claim's contexts (plain rows, many customers at once) are exactly what a
single render's context is for each customer."""

from __future__ import annotations

from crm_core.customers.persons import create_contact_person
from messaging.context import build_context, build_contexts
from tests.factories.people import make_customer, make_employee


async def test_batch_contexts_equal_single_ones(session) -> None:
    manager = await make_employee(session, name="Ольга Петрова")
    full = await make_customer(
        session,
        name="ООО Ромашка",
        kind="company",
        legal_name="ООО «Ромашка»",
        inn="7707083893",
        address="Москва, ул. Ленина, 1",
        phones=["+79160000001", "+79160000002"],
        emails=["b@romashka.ru", "a@romashka.ru"],
        telegram_id=123456789,
        tags=["vip", "b2b", "apple"],
        responsible_id=manager.id,
    )
    await create_contact_person(
        session,
        full.id,
        name="Иван",
        position="Директор",
        phones=["+79160000003"],
        emails=["ivan@romashka.ru", "second@romashka.ru"],
    )
    await create_contact_person(session, full.id, name="Пётр", emails=["petr@romashka.ru"])
    bare = await make_customer(session, name="Без контактов")
    person_only = await make_customer(session, name="Только лицо", phones=["+79160000004"])
    await create_contact_person(session, person_only.id, name="Анна")
    ids = [full.id, bare.id, person_only.id]
    batch = await build_contexts(session, [*ids, full.id, 999_999])  # a repeat, a stranger
    assert set(batch) == set(ids)
    for customer_id in ids:
        single = await build_context(session, customer_id=customer_id)
        assert batch[customer_id] == single, customer_id
    assert batch[full.id]["customer"]["email"] == "b@romashka.ru"
    assert batch[full.id]["customer"]["tags"] == ["apple", "b2b", "vip"]
    assert batch[full.id]["contact"] == {
        "name": "Иван",
        "position": "Директор",
        "email": "ivan@romashka.ru",
        "phone": "+79160000003",
    }
    assert batch[full.id]["employee"] == {"name": "Ольга Петрова", "email": manager.email}
    assert batch[bare.id]["contact"] is None and batch[bare.id]["employee"] is None
    assert await build_contexts(session, []) == {}
