"""Products from rows: matched by SKU (or by name without one), prices per price kind,
numbers as Russian spreadsheets write them; a re-import changes nothing."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm_core.imports.products import import_products, preview_products
from crm_core.imports.rows import ImportRow
from crm_core.models import Product

ROWS = [
    {
        "sku": "CH-1",
        "name": "Стул",
        "price": "2 500,50",
        "stock": "4",
        "group": "Мебель",
        "vat_rate": "20%",
    },
    {"sku": "SRV-1", "name": "Сборка", "kind": "услуга", "price": "500"},
    {"name": "Без артикула", "price": "10"},
    {"sku": "BAD-1", "name": "Плохая цена", "price": "дорого"},
    {"sku": "BAD-2", "name": "Плохой НДС", "vat_rate": "18"},
    {"sku": "BAD-3", "name": "Чужой вид цены", "price:nosuch": "1"},
    {"sku": "BAD-4"},  # a new SKU without a name
    {"sku": "SRV-2", "name": "Услуга с остатком", "kind": "service", "stock": "3"},
]


def _rows(raw=ROWS) -> list[ImportRow]:
    return [ImportRow(i + 2, values) for i, values in enumerate(raw)]


async def test_import_products_with_per_row_errors(uow):
    async with uow() as s:
        results = await import_products(s, _rows())
    assert [r.status for r in results] == [
        "created",
        "created",
        "created",
        "error",
        "error",
        "error",
        "error",
        "error",
    ]
    assert list(results[3].errors) == ["price"]
    assert list(results[4].errors) == ["vat_rate"]
    assert list(results[5].errors) == ["price:nosuch"]
    assert list(results[6].errors) == ["name"]
    assert list(results[7].errors) == ["stock"]
    async with uow() as s:
        chair = await s.scalar(
            select(Product).where(Product.sku == "CH-1").options(selectinload(Product.prices))
        )
        assert chair.prices[0].price == Decimal("2500.50")
        assert chair.stock == 4 and chair.vat_rate == 20 and chair.group_id is not None


async def test_reimport_and_partial_update(uow):
    async with uow() as s:
        await import_products(s, _rows(ROWS[:3]))
    async with uow() as s:
        again = await import_products(s, _rows(ROWS[:3]))
    assert [r.status for r in again] == ["unchanged", "unchanged", "unchanged"]
    async with uow() as s:
        price_only = await import_products(
            s, _rows([{"sku": "CH-1", "price": "2600"}, {"name": "Без артикула", "stock": "7"}])
        )
    assert [r.status for r in price_only] == ["updated", "updated"]
    async with uow() as s:
        assert await s.scalar(select(func.count(Product.id))) == 3
        chair = await s.scalar(
            select(Product).where(Product.sku == "CH-1").options(selectinload(Product.prices))
        )
        assert chair.name == "Стул" and chair.stock == 4  # untouched by the price list
        assert chair.prices[0].price == Decimal("2600.00")


async def test_preview_writes_nothing(uow, session):
    results = await preview_products(session, _rows([*ROWS, {"sku": "CH-1", "name": "Стул"}]))
    assert [r.status for r in results][:3] == ["created", "created", "created"]
    assert results[-1].status == "updated" and results[-1].note == "same product as row 2"
    await session.rollback()
    async with uow() as s:
        assert await s.scalar(select(func.count(Product.id))) == 0


async def test_a_refused_group_falls_back_row_by_row(uow):
    rows = _rows(
        [
            {"sku": "G-1", "name": "Первый", "price": "1"},
            {"sku": "G-2", "name": "Плохая группа", "group": "Г" * 300},
            {"sku": "G-1", "name": "Первый", "price": "2"},
            {"sku": "G-3", "name": "Третий", "group": "Мебель"},
        ]
    )
    async with uow() as s:
        results = await import_products(s, rows)
    assert [(r.status, list(r.errors)) for r in results] == [
        ("created", []),
        ("error", ["group"]),
        ("updated", []),
        ("created", []),
    ]
    async with uow() as s:
        first = await s.scalar(
            select(Product).where(Product.sku == "G-1").options(selectinload(Product.prices))
        )
        assert first.prices[0].price == Decimal("2.00")
        assert await s.scalar(select(func.count(Product.id))) == 2
