"""What the parts of the demo share while it is built."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.demo.people import CustomerSpec, People, Phones
from crm_core.demo.timeline import Timeline


@dataclass
class ProductRef:
    sku: str
    kind: str
    group: str
    retail: Decimal
    id: int | None = None


@dataclass
class World:
    session: AsyncSession
    rng: random.Random
    tl: Timeline
    people: People
    phones: Phones
    team: int = 3  # how many managers take customers and leads
    admin: int = 0
    managers: list[int] = field(default_factory=list)
    products: dict[str, ProductRef] = field(default_factory=dict)
    price_kinds: dict[str, int] = field(default_factory=dict)
    customers: list[CustomerSpec] = field(default_factory=list)
    leads: list = field(default_factory=list)  # LeadSpec
    orders: list = field(default_factory=list)  # OrderPlan
    busy: dict[int, set] = field(default_factory=dict)  # employee -> (day, hour) taken

    def manager(self, index: int) -> int:
        return self.managers[index % len(self.managers)]
