"""The analytics use cases: the sales funnel and plan vs actual.

Both aggregate in SQL with GROUP BY over indexed ranges and never load orders
into Python; see ``funnel.py`` and ``plan.py`` for how each figure is read.
"""

from __future__ import annotations

from crm_core.analytics.funnel import Funnel, Stage, StateRow, sales_funnel
from crm_core.analytics.plan import PlanReport, PlanRow, plan_vs_actual

__all__ = [
    "Funnel",
    "PlanReport",
    "PlanRow",
    "Stage",
    "StateRow",
    "plan_vs_actual",
    "sales_funnel",
]
