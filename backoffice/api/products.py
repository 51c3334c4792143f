"""``/products``, ``/product-groups``, ``/price-kinds``: the catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.api.deps import Page, Session
from backoffice.api.schemas.catalog import (
    MAX_ID,
    GroupCreate,
    GroupOut,
    GroupUpdate,
    PriceKindCreate,
    PriceKindOut,
    PriceKindUpdate,
    ProductCreate,
    ProductOut,
    ProductUpdate,
    product_out,
)
from backoffice.api.schemas_common import ListOf
from crm_core.catalog import groups, service
from crm_core.exchange.catalog_export import properties_by_product
from crm_core.models import PriceKind, Product, ProductGroup, ProductKind

router = APIRouter(tags=["catalog"])
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


async def _outs(session: AsyncSession, products: list[Product]) -> list[ProductOut]:
    codes = dict((await session.execute(select(PriceKind.id, PriceKind.code))).all())
    group_ids = {p.group_id for p in products if p.group_id}
    names = {}
    if group_ids:
        names = dict(
            (
                await session.execute(
                    select(ProductGroup.id, ProductGroup.name).where(ProductGroup.id.in_(group_ids))
                )
            ).all()
        )
    properties = await properties_by_product(session, [p.id for p in products])
    return [product_out(p, codes, names, properties) for p in products]


@router.get("/products", response_model=ListOf[ProductOut])
async def list_products(
    session: Session,
    page: Page,
    q: Annotated[str | None, Query(max_length=200, description="SKU or name")] = None,
    group: Annotated[str | None, Query(max_length=200, description="group id or name")] = None,
    active: bool | None = None,
    kind: ProductKind | None = None,
) -> ListOf[ProductOut]:
    items, total = await service.list_products(
        session, q=q, group=group, active=active, kind=kind, limit=page.limit, offset=page.offset
    )
    return ListOf[ProductOut](items=await _outs(session, items), total=total)


@router.post("/products", response_model=ProductOut, status_code=201)
async def create_product(body: ProductCreate, session: Session) -> ProductOut:
    product = await service.create_product(session, **body.model_dump())
    [out] = await _outs(session, [await service.get_product(session, product.id)])
    return out


@router.get("/products/{product_id}", response_model=ProductOut)
async def get_product(product_id: IdPath, session: Session) -> ProductOut:
    [out] = await _outs(session, [await service.get_product(session, product_id)])
    return out


@router.patch("/products/{product_id}", response_model=ProductOut)
async def update_product(product_id: IdPath, body: ProductUpdate, session: Session) -> ProductOut:
    await service.update_product(session, product_id, **body.model_dump(exclude_unset=True))
    [out] = await _outs(session, [await service.get_product(session, product_id)])
    return out


@router.get("/product-groups", response_model=ListOf[GroupOut])
async def list_groups(session: Session) -> ListOf[GroupOut]:
    items = await groups.list_groups(session)
    return ListOf[GroupOut](items=[GroupOut.of(g) for g in items], total=len(items))


@router.post("/product-groups", response_model=GroupOut, status_code=201)
async def create_group(body: GroupCreate, session: Session) -> GroupOut:
    return GroupOut.of(await groups.create_group(session, **body.model_dump()))


@router.patch("/product-groups/{group_id}", response_model=GroupOut)
async def update_group(group_id: IdPath, body: GroupUpdate, session: Session) -> GroupOut:
    fields = body.model_dump(exclude_unset=True)
    return GroupOut.of(await groups.update_group(session, group_id, **fields))


@router.get("/price-kinds", response_model=ListOf[PriceKindOut])
async def list_price_kinds(session: Session) -> ListOf[PriceKindOut]:
    items = await groups.list_price_kinds(session)
    return ListOf[PriceKindOut](items=[PriceKindOut.of(k) for k in items], total=len(items))


@router.post("/price-kinds", response_model=PriceKindOut, status_code=201)
async def create_price_kind(body: PriceKindCreate, session: Session) -> PriceKindOut:
    return PriceKindOut.of(await groups.create_price_kind(session, **body.model_dump()))


@router.get("/price-kinds/{price_kind_id}", response_model=PriceKindOut)
async def get_price_kind(price_kind_id: IdPath, session: Session) -> PriceKindOut:
    return PriceKindOut.of(await groups.get_price_kind(session, price_kind_id))


@router.patch("/price-kinds/{price_kind_id}", response_model=PriceKindOut)
async def update_price_kind(
    price_kind_id: IdPath, body: PriceKindUpdate, session: Session
) -> PriceKindOut:
    fields = body.model_dump(exclude_unset=True)
    return PriceKindOut.of(await groups.update_price_kind(session, price_kind_id, **fields))
