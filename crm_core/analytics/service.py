"""The analytics use cases: the sales funnel and plan vs actual (per employee or group).

All aggregate in SQL with GROUP BY over indexed ranges and never load orders
into Python; see ``funnel.py``, ``plan.py`` and ``plan_groups.py`` for how each
figure is read.
"""

from __future__ import annotations

from crm_core.analytics.funnel import Funnel, Stage, StateRow, sales_funnel
from crm_core.analytics.plan import PlanReport, PlanRow, plan_vs_actual
from crm_core.analytics.plan_groups import (
    GroupPlanReport,
    GroupPlanRow,
    plan_vs_actual_by_group,
)

__all__ = [
    "Funnel",
    "GroupPlanReport",
    "GroupPlanRow",
    "PlanReport",
    "PlanRow",
    "Stage",
    "StateRow",
    "plan_vs_actual",
    "plan_vs_actual_by_group",
    "sales_funnel",
]
