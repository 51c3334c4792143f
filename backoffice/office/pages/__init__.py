"""One router per area of the office; ``PAGES`` is what the office app includes.
Add an area's router here (one line) when it is written."""

from __future__ import annotations

from fastapi import APIRouter

from backoffice.office.pages import (
    analytics,
    calendar,
    campaigns,
    catalog,
    catalog_import,
    customers,
    events,
    leads,
    order_card,
    order_kinds,
    orders,
    profile,
    settings,
    tasks,
)

PAGES: list[APIRouter] = [profile.router]
PAGES.append(leads.router)
PAGES.append(customers.router)
PAGES.append(settings.router)
PAGES.append(campaigns.router)
PAGES += [orders.router, order_card.router, analytics.router]
PAGES += [events.router, calendar.router, tasks.router, order_kinds.router]
PAGES += [catalog_import.router, catalog.router]  # /catalog/import before /catalog/{id}
