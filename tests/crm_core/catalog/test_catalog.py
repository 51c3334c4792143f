"""Products, groups, price kinds, prices and stock."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_core.catalog import groups
from crm_core.catalog.service import (
    adjust_stock,
    create_product,
    get_product,
    list_products,
    price_of,
    update_product,
)
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import ProductKind
from tests.factories.commerce import make_product


async def test_product_with_prices_and_a_group_by_name(session):
    product = await create_product(
        session,
        sku="A-1",
        name="Стол",
        group="Мебель",
        vat_rate=20,
        stock="3.5",
        prices={"retail": "1250.00", "wholesale": Decimal("1000")},
    )
    product = await get_product(session, product.id)
    retail = await groups.price_kind_by_code(session, "retail", field="x")
    wholesale = await groups.price_kind_by_code(session, "wholesale", field="x")
    assert price_of(product, retail) == Decimal("1250.00")
    assert price_of(product, wholesale.id) == Decimal("1000.00")
    assert product.stock == Decimal("3.5")
    assert product.vat_rate == Decimal(20)
    again = await create_product(session, name="Стул", group="мебель")  # same group, any case
    assert again.group_id == product.group_id
    assert [g.name for g in await groups.list_groups(session)] == ["Мебель"]


async def test_duplicate_sku_is_a_conflict(session):
    await make_product(session, sku="DUP")
    with pytest.raises(Conflict):
        await make_product(session, sku="DUP")
    other = await make_product(session)
    with pytest.raises(Conflict):
        await update_product(session, other.id, sku="DUP")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"vat_rate": 18}, "vat_rate"),
        ({"prices": {"retail": "-1"}}, "prices.retail"),
        ({"prices": {"retail": "1.005"}}, "prices.retail"),
        ({"prices": {"retail": "NaN"}}, "prices.retail"),
        ({"prices": {"vip": "1"}}, "prices.vip"),
        ({"kind": "service", "stock": 5}, "stock"),
        ({"kind": "thing"}, "kind"),
        ({"name": "  "}, "name"),
        ({"group": 999999}, "group"),
    ],
)
async def test_bad_product_input(session, fields, field):
    fields = {"name": "X", **fields}
    with pytest.raises(ValidationFailed) as err:
        await create_product(session, **fields)
    assert err.value.field == field


@pytest.mark.parametrize("rate", [None, 0, 5, 7, 10, 20, 22])
async def test_russian_vat_rates_are_accepted(session, rate):
    product = await create_product(session, name="X", vat_rate=rate)
    assert product.vat_rate == (None if rate is None else Decimal(rate))


async def test_update_merges_prices_and_removes_with_none(session):
    product = await make_product(session, price="10.00")
    await update_product(session, product.id, prices={"wholesale": "8.00"})
    product = await update_product(session, product.id, prices={"retail": None})
    assert {p.price for p in product.prices} == {Decimal("8.00")}


async def test_list_filters(session):
    parent = await groups.create_group(session, name="Техника")
    child = await groups.create_group(session, name="Ноутбуки", parent_id=parent.id)
    laptop = await make_product(session, name="Ноутбук Lenovo", sku="NB-1", group_id=child.id)
    await make_product(session, name="Мышь", sku="MS-1", group_id=parent.id)
    service = await make_product(session, name="Установка", kind=ProductKind.SERVICE)
    await make_product(session, name="Старый", active=False)

    items, total = await list_products(session, q="nb-")
    assert [p.id for p in items] == [laptop.id] and total == 1
    items, _ = await list_products(session, q="ноутбук")  # Cyrillic, any case, SQLite too
    assert [p.id for p in items] == [laptop.id]
    items, total = await list_products(session, group=parent.id)
    assert total == 2  # the subtree: the group and its child
    items, total = await list_products(session, group="Ноутбуки")
    assert [p.id for p in items] == [laptop.id]
    items, _ = await list_products(session, kind="service")
    assert [p.id for p in items] == [service.id]
    _, total = await list_products(session, active=False)
    assert total == 1
    with pytest.raises(ValidationFailed):
        await groups.update_group(session, parent.id, parent_id=child.id)


async def test_one_default_price_kind(session):
    vip = await groups.create_price_kind(session, code="vip", name="VIP", is_default=True)
    kinds = await groups.list_price_kinds(session)
    assert [k.code for k in kinds if k.is_default] == ["vip"]
    assert (await groups.default_price_kind(session)).id == vip.id
    with pytest.raises(Conflict):
        await groups.create_price_kind(session, code="vip", name="Again")
    with pytest.raises(ValidationFailed):
        await groups.update_price_kind(session, vip.id, is_default=False)


async def test_adjust_stock_for_goods_only(session):
    good = await make_product(session, stock=10)
    service = await make_product(session, kind="service")
    assert await adjust_stock(session, good.id, Decimal("-2.5")) == Decimal("7.5")
    assert good.stock == Decimal("7.5")  # the loaded object follows
    assert await adjust_stock(session, service.id, Decimal(-1)) is None
