"""Customers from rows: de-duplicated by phone/email through the core; a re-import
changes nothing; a preview writes nothing; a bad row spoils no other row."""

from __future__ import annotations

from sqlalchemy import func, select

from crm_core.imports.customers import import_customers, preview_customers
from crm_core.imports.rows import ImportRow
from crm_core.models import ContactPoint, Customer, OutboxEvent

ROWS = [
    {
        "name": "Анна Петрова",
        "phone": "+7 912 345-67-89",
        "email": "anna@example.ru",
        "tags": "vip; опт",
    },
    {"name": "ООО Ромашка", "kind": "юрлицо", "phone": "8 (495) 123-45-67", "inn": "7707083893"},
    {"name": "Анна П.", "phone": "89123456789", "email": "anna.work@example.ru"},  # row 2's person
    {"name": "Без контактов"},
    {"name": "Плохой телефон", "phone": "12"},
    {"name": "Плохой ИНН", "email": "inn@example.ru", "inn": "1234567890"},
    {"phone": "+7 900 000-00-01"},  # no name, nobody has the phone
]


def _rows(raw=ROWS) -> list[ImportRow]:
    return [ImportRow(i + 2, values) for i, values in enumerate(raw)]


async def _count(session, model, *where) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where))


async def test_import_creates_updates_and_reports_errors_per_row(uow):
    async with uow() as s:
        results = await import_customers(s, _rows())
    statuses = [(r.row, r.status) for r in results]
    assert statuses == [
        (2, "created"),
        (3, "created"),
        (4, "updated"),
        (5, "error"),
        (6, "error"),
        (7, "error"),
        (8, "error"),
    ]
    assert results[2].id == results[0].id
    assert set(results[3].errors) == {"phone"}
    assert set(results[4].errors) == {"phone"}
    assert set(results[5].errors) == {"inn"}
    assert set(results[6].errors) == {"name"}
    async with uow() as s:
        assert await _count(s, Customer) == 2
        anna = await s.get(Customer, results[0].id)
        emails = await s.scalars(
            select(ContactPoint.value).where(
                ContactPoint.customer_id == anna.id, ContactPoint.kind == "email"
            )
        )
        assert sorted(emails) == ["anna.work@example.ru", "anna@example.ru"]
        company = await s.get(Customer, results[1].id)
        assert company.kind.value == "company" and company.inn == "7707083893"
        assert await _count(s, OutboxEvent, OutboxEvent.topic == "customer.created") == 2


async def test_reimport_creates_nobody_twice(uow):
    async with uow() as s:
        await import_customers(s, _rows())
    async with uow() as s:
        again = await import_customers(s, _rows())
    assert [r.status for r in again][:3] == ["unchanged", "unchanged", "unchanged"]
    async with uow() as s:
        assert await _count(s, Customer) == 2


async def test_preview_says_what_would_happen_and_writes_nothing(uow, session):
    async with uow() as s:
        await import_customers(s, _rows(ROWS[:1]))
    results = await preview_customers(session, _rows())
    assert [r.status for r in results] == [
        "unchanged",  # Anna is already there, nothing new
        "created",
        "updated",  # a new email for Anna
        "error",
        "error",
        "error",
        "error",
    ]
    assert results[2].note == "matches a customer" and results[2].id == results[0].id
    await session.rollback()
    async with uow() as s:
        assert await _count(s, Customer) == 1


async def test_preview_sees_duplicates_inside_the_file(session):
    rows = _rows(
        [
            {"name": "Иван", "phone": "+79001112233"},
            {"name": "Ваня", "phone": "8 900 111-22-33"},
        ]
    )
    results = await preview_customers(session, rows)
    assert [r.status for r in results] == ["created", "unchanged"]
    assert results[1].note == "same person as row 2"
    richer = _rows(
        [
            {"name": "Иван", "phone": "+79001112233"},
            {"name": "Ваня", "phone": "8 900 111-22-33", "email": "ivan@example.ru"},
            {"name": "ИП Иванов", "email": "ivan@example.ru", "address": "Тверь"},
        ]
    )
    assert [r.status for r in await preview_customers(session, richer)] == [
        "created",
        "updated",
        "updated",
    ]


async def test_overlong_fields_are_row_errors_not_a_broken_batch(uow):
    rows = _rows(
        [
            {"name": "Анна", "phone": "+79000000001"},
            {"name": "Длинная", "phone": "+79000000002", "legal_name": "Ы" * 400},
            {"name": "Анна", "phone": "+79000000001", "address": "А" * 600},
            {"name": "Борис", "phone": "+79000000003"},
        ]
    )
    async with uow() as s:
        assert [r.status for r in await preview_customers(s, rows)] == [
            "created",
            "error",
            "error",
            "created",
        ]
    async with uow() as s:
        results = await import_customers(s, rows)
    assert [(r.status, list(r.errors)) for r in results] == [
        ("created", []),
        ("error", ["legal_name"]),
        ("error", ["address"]),
        ("created", []),
    ]
    async with uow() as s:
        assert await _count(s, Customer) == 2


async def test_new_customers_are_written_together_and_one_inn_twice_is_a_row_error(uow):
    """A batch's new customers go in with one flush: ids in row order, every one with its
    contacts and its customer.created; an INN given twice in the file is an error of the
    second row (the database's unique INN never breaks the batch)."""
    raw = [{"name": f"Клиент {i}", "phone": f"+7916300{i:04d}", "tags": "опт"} for i in range(50)]
    raw[10]["inn"] = raw[20]["inn"] = "7707083893"
    raw[30]["email"] = "shared@example.ru"
    raw.append({"name": "Тот же, что 30", "email": "shared@example.ru"})  # matched, not new
    async with uow() as s:
        results = await import_customers(s, _rows(raw))
    assert [r.status for r in results].count("created") == 49
    assert results[20].status == "error" and set(results[20].errors) == {"inn"}
    assert "row 12" in results[20].errors["inn"]
    assert results[50].status == "unchanged" and results[50].id == results[30].id
    created = [r.id for r in results if r.status == "created"]
    assert created == sorted(created)
    async with uow() as s:
        assert await _count(s, Customer) == 49
        assert await _count(s, ContactPoint, ContactPoint.customer_id.in_(created)) == 50
        assert await _count(s, OutboxEvent, OutboxEvent.topic == "customer.created") == 49
