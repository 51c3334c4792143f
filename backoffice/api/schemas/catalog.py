"""Shapes of products, product groups and price kinds in the REST API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from backoffice.api.schemas_common import InputSchema, MoneyOut, QuantityOut, Schema
from crm_core.models import PriceKind, Product, ProductGroup, ProductKind

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# JSON numbers or strings, parsed to Decimal; NaN/Infinity and extra places are a 422.
MoneyIn = Annotated[Decimal, Field(max_digits=15, decimal_places=2, ge=0, allow_inf_nan=False)]
QuantityIn = Annotated[Decimal, Field(max_digits=15, decimal_places=3, allow_inf_nan=False)]
VatRate = Annotated[Decimal, Field(max_digits=5, decimal_places=2, ge=0, allow_inf_nan=False)]
Code = Annotated[str, Field(min_length=1, max_length=50)]
GroupRef = Annotated[int, Field(ge=1, le=MAX_ID)] | Annotated[str, Field(max_length=200)]


class ProductCreate(InputSchema):
    sku: str | None = Field(None, max_length=100)
    name: str = Field(min_length=1, max_length=300)
    kind: ProductKind = ProductKind.GOODS
    unit: str | None = Field(None, max_length=20)
    group: GroupRef | None = Field(None, description="group id, or a name (created if new)")
    description: str | None = Field(None, max_length=20000)
    image_url: str | None = Field(None, max_length=500)
    vat_rate: VatRate | None = Field(None, description="0, 5, 7, 10, 20, 22 or null")
    active: bool = True
    stock: QuantityIn | None = None
    prices: dict[Code, MoneyIn] = Field(
        default_factory=dict, description="{price_kind_code: price}"
    )
    external_id: str | None = Field(None, max_length=100)


class ProductUpdate(InputSchema):
    sku: str | None = Field(None, max_length=100)
    name: str | None = Field(None, min_length=1, max_length=300)
    kind: ProductKind | None = None
    unit: str | None = Field(None, max_length=20)
    group: GroupRef | None = None
    description: str | None = Field(None, max_length=20000)
    image_url: str | None = Field(None, max_length=500)
    vat_rate: VatRate | None = None
    active: bool | None = None
    stock: QuantityIn | None = None
    prices: dict[Code, MoneyIn | None] | None = Field(
        None, description="merged by code; null removes that price"
    )


class ProductOut(Schema):
    id: int
    sku: str | None
    name: str
    kind: ProductKind
    unit: str
    group_id: int | None
    group: str | None = Field(description="the group's name")
    description: str | None
    image_url: str | None
    vat_rate: Decimal | None
    active: bool
    stock: QuantityOut | None
    prices: dict[str, MoneyOut]
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    properties: dict[str, str] = Field(
        default_factory=dict, description="property name -> value, as 1C's classifier has them"
    )


def product_out(
    product: Product,
    codes: dict[int, str],
    groups: dict[int, str],
    properties: dict[int, dict[str, str]] | None = None,
) -> ProductOut:
    """The read shape; ``codes`` maps price kind ids to codes, ``groups`` ids to names."""
    return ProductOut(
        id=product.id,
        sku=product.sku,
        name=product.name,
        kind=product.kind,
        unit=product.unit,
        group_id=product.group_id,
        group=groups.get(product.group_id) if product.group_id else None,
        description=product.description,
        image_url=product.image_url,
        vat_rate=product.vat_rate,
        active=product.active,
        stock=None if product.kind is ProductKind.SERVICE else product.stock,
        prices={
            codes[p.price_kind_id]: p.price for p in product.prices if p.price_kind_id in codes
        },
        external_id=product.external_id,
        created_at=product.created_at,
        updated_at=product.updated_at,
        properties=(properties or {}).get(product.id, {}),
    )


class GroupCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    parent_id: Id | None = None
    position: int = Field(0, ge=0, le=100000)


class GroupUpdate(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    parent_id: Id | None = None
    position: int | None = Field(None, ge=0, le=100000)


class GroupOut(Schema):
    id: int
    name: str
    parent_id: int | None
    position: int

    @classmethod
    def of(cls, group: ProductGroup) -> GroupOut:
        return cls.model_validate(group)


class PriceKindCreate(InputSchema):
    code: Code
    name: str = Field(min_length=1, max_length=100)
    currency: str = Field("RUB", min_length=3, max_length=3)
    is_default: bool = False


class PriceKindUpdate(InputSchema):
    code: Code | None = None
    name: str | None = Field(None, min_length=1, max_length=100)
    is_default: bool | None = None


class PriceKindOut(Schema):
    id: int
    code: str
    name: str
    currency: str
    is_default: bool

    @classmethod
    def of(cls, kind: PriceKind) -> PriceKindOut:
        return cls.model_validate(kind)
