"""Order lines from input: prices from the price kind, discounts, amounts, VAT."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.catalog.common import clean, money, to_decimal
from crm_core.catalog.service import price_of
from crm_core.errors import ValidationFailed
from crm_core.models import Order, OrderLine, PriceKind, Product

HUNDRED = Decimal(100)


@dataclass
class LineInput:
    """One line of an order as a door gives it; ``price`` None takes the catalog price."""

    product_id: int | None
    quantity: Decimal
    price: Decimal | None = None
    discount_percent: Decimal = Decimal(0)
    name: str | None = None


def line_amount(quantity: Decimal, price: Decimal, discount_percent: Decimal) -> Decimal:
    """quantity × price × (1 − discount/100), rounded half up to kopecks."""
    return money(quantity * price * (HUNDRED - discount_percent) / HUNDRED)


def vat_included(amount: Decimal, rate: Decimal | None) -> Decimal:
    """The VAT inside a price that includes it: amount × rate / (100 + rate)."""
    if not rate:
        return Decimal("0.00")
    return money(amount * rate / (HUNDRED + rate))


async def build_lines(
    session: AsyncSession,
    lines: Sequence[LineInput],
    price_kind: PriceKind | None,
    *,
    first_position: int = 0,
    field: str = "lines",
) -> list[OrderLine]:
    """Validated order lines with amounts and VAT (products loaded in one query)."""
    ids = {line.product_id for line in lines if line.product_id is not None}
    products: dict[int, Product] = {}
    if ids:
        rows = await session.scalars(
            select(Product).where(Product.id.in_(ids)).options(selectinload(Product.prices))
        )
        products = {p.id: p for p in rows}
    result = []
    for i, line in enumerate(lines):
        where = f"{field}.{i}"
        quantity = to_decimal(line.quantity, field=f"{where}.quantity", places=3)
        if quantity <= 0:
            raise ValidationFailed("Quantity must be greater than 0", field=f"{where}.quantity")
        discount = to_decimal(
            line.discount_percent or 0, field=f"{where}.discount_percent", places=2
        )
        if not 0 <= discount <= HUNDRED:
            raise ValidationFailed(
                "Discount must be between 0 and 100 percent", field=f"{where}.discount_percent"
            )
        product = None
        if line.product_id is not None:
            product = products.get(line.product_id)
            if product is None:
                raise ValidationFailed(
                    f"Product {line.product_id} does not exist", field=f"{where}.product_id"
                )
        name = clean(line.name, field=f"{where}.name", max_length=300) or (
            product.name if product else None
        )
        if name is None:
            raise ValidationFailed("A line without a product needs a name", field=f"{where}.name")
        if line.price is not None:
            price = to_decimal(line.price, field=f"{where}.price", places=2, minimum=Decimal(0))
        else:
            price = price_of(product, price_kind) if product else None
            if price is None:
                what = f"Product {product.name!r} has no" if product else "The line has no"
                kind = f" {price_kind.name.lower()}" if price_kind and product else ""
                raise ValidationFailed(
                    f"{what}{kind} price: give the price", field=f"{where}.price"
                )
        vat_rate = product.vat_rate if product else None
        amount = line_amount(quantity, price, discount)
        result.append(
            OrderLine(
                position=first_position + i,
                product_id=product.id if product else None,
                name=name,
                unit=product.unit if product else "шт",
                quantity=quantity,
                price=price,
                discount_percent=discount,
                vat_rate=vat_rate,
                amount=amount,
                vat_amount=vat_included(amount, vat_rate),
                shipped_quantity=Decimal(0),
            )
        )
    return result


def apply_totals(order: Order) -> None:
    """The order's total and VAT as the sums of its (loaded) lines."""
    order.total = money(sum((line.amount for line in order.lines), Decimal(0)))
    order.vat_amount = money(sum((line.vat_amount for line in order.lines), Decimal(0)))
