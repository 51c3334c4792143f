"""What a catalog exchange carries, independent of the wire format.

The CommerceML reader (``channels/commerceml``) yields these; the import use case
here consumes them. They live in the core because the core may not import channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
