"""Every router of the REST API, in the order OpenAPI lists them."""

from __future__ import annotations

from fastapi import APIRouter

from backoffice.api import (
    analytics,
    campaigns,
    customers,
    employees,
    events,
    exchange,
    firm,
    forms,
    invoices,
    lead_states,
    leads,
    order_kinds,
    orders,
    products,
    sales_plans,
    stores,
    tasks,
    templates,
)

ROUTERS: list[APIRouter] = [
    leads.router,
    lead_states.router,
    customers.router,
    events.router,
    tasks.router,
    products.router,
    order_kinds.router,
    orders.router,
    invoices.router,
    analytics.router,
    sales_plans.router,
    employees.router,
    forms.router,
    firm.router,
    templates.router,
    campaigns.router,
    exchange.router,
    stores.router,
]
