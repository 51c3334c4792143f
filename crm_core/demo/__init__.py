"""The demo firm for ``firma demo`` (and ``make run`` on an empty database)."""

from crm_core.demo.load import (
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_MANAGER_PASSWORD,
    load_demo,
)

__all__ = ["DEMO_ADMIN_EMAIL", "DEMO_ADMIN_PASSWORD", "DEMO_MANAGER_PASSWORD", "load_demo"]
