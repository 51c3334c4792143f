"""What a catalog exchange carries, independent of the wire format.

The CommerceML reader (``channels/commerceml``) yields these; the import use case
here consumes them. They live in the core because the core may not import channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(slots=True)
class GroupRecord:
    external_id: str
    name: str
    parent_external_id: str | None = None


@dataclass(slots=True)
class PropertyRecord:
    """A property definition of the classifier; ``values`` maps a dictionary value's Ид."""

    external_id: str
    name: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ProductRecord:
    external_id: str
    name: str
    sku: str | None = None
    unit: str | None = None
    description: str | None = None
    image: str | None = None
    group_external_ids: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    requisites: dict[str, str] = field(default_factory=dict)
    vat_rate: Decimal | None = None
    is_service: bool = False
    deleted: bool = False


@dataclass(slots=True)
class PriceTypeRecord:
    external_id: str
    name: str
    currency: str = "RUB"


@dataclass(slots=True)
class OfferRecord:
    """Prices and stock of one product; None means "not in this file, leave as is"
    (2.10 splits them into ``prices*.xml`` and ``rests*.xml``)."""

    external_id: str
    prices: dict[str, Decimal] | None = None
    quantity: Decimal | None = None


Record = GroupRecord | PropertyRecord | ProductRecord | PriceTypeRecord | OfferRecord


@dataclass(slots=True)
class CatalogHeader:
    """The ``Каталог`` element's attributes: a full catalog (``only_changes`` false)
    lets ``deactivate`` retire the products it did not carry."""

    only_changes: bool = False


@dataclass(slots=True)
class PartyRecord:
    """The buyer of an order document (``Контрагент`` with role Покупатель)."""

    external_id: str | None = None
    name: str | None = None
    full_name: str | None = None
    inn: str | None = None
    kpp: str | None = None
    address: str | None = None
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    is_company: bool = False


@dataclass(slots=True)
class LineRecord:
    """A line of an order document; ``external_id`` is the product's Ид
    (``ORDER_DELIVERY`` for the delivery service line)."""

    external_id: str | None
    name: str
    quantity: Decimal
    price: Decimal
    amount: Decimal | None = None
    sku: str | None = None
    unit: str | None = None
    unit_code: str | None = None
    is_service: bool = False
    discount: Decimal | None = None

    @property
    def is_delivery(self) -> bool:
        return self.external_id == DELIVERY_ID


DELIVERY_ID = "ORDER_DELIVERY"


@dataclass(slots=True)
class OrderDocument:
    """One ``Документ`` of ``ХозОперация`` «Заказ товара», both ways: orders Firma sends
    (to 1C, back to a store) and the ones it reads (from a store, back from 1C)."""

    external_id: str
    number: str
    date: datetime | None = None
    currency: str = "руб"
    total: Decimal = Decimal(0)
    comment: str | None = None
    party: PartyRecord | None = None
    lines: list[LineRecord] = field(default_factory=list)
    requisites: dict[str, str] = field(default_factory=dict)
    deleted: bool = False

    def flag(self, name: str) -> bool:
        """A requisite read as a boolean ("true", "да", "1")."""
        return (self.requisites.get(name) or "").strip().lower() in ("true", "да", "1", "yes")

    def requisite(self, name: str) -> str | None:
        value = (self.requisites.get(name) or "").strip()
        return value or None
