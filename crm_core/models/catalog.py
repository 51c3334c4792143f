from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import Base, Money, Quantity, str_enum
from crm_core.models.enums import ProductKind


class ProductGroup(Base):
    __tablename__ = "product_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("product_groups.id"))
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(default=0)


class PriceKind(Base):
    """A kind of price (retail, wholesale...)."""

    __tablename__ = "price_kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    is_default: Mapped[bool] = mapped_column(default=False)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)


class Product(Base):
    """A good or a service of the catalog."""

    __tablename__ = "products"
    __table_args__ = (Index("ix_products_name", "name"), Index("ix_products_group", "group_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str | None] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[ProductKind] = mapped_column(str_enum(ProductKind), default=ProductKind.GOODS)
    unit: Mapped[str] = mapped_column(String(20), default="шт")
    group_id: Mapped[int | None] = mapped_column(ForeignKey("product_groups.id"))
    description: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(500))
    vat_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    stock: Mapped[Quantity] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    prices: Mapped[list[ProductPrice]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ProductPrice.price_kind_id"
    )


class ProductPrice(Base):
    __tablename__ = "product_prices"
    __table_args__ = (UniqueConstraint("product_id", "price_kind_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    price_kind_id: Mapped[int] = mapped_column(ForeignKey("price_kinds.id"))
    price: Mapped[Money]
