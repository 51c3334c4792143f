"""On PostgreSQL the lead name search can be answered by the pg_trgm GIN indexes of
migration 0009 (the figures are in bench/README.md, from bench/office_crm.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from crm_core.leads.service import list_leads
from tests.factories.people import make_lead


async def test_name_search_can_use_the_trigram_indexes(session, db_backend):
    if db_backend != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL's; SQLite scans the names")
    await make_lead(session, name="Иван Триграммов", company="ООО Ромашка 2000")
    rows, total = await list_leads(session, q="ромашка 20")
    assert total == 1 and rows[0].company == "ООО Ромашка 2000"
    await session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table
    plan = "\n".join(
        await session.scalars(
            text(
                "EXPLAIN SELECT id FROM leads "
                "WHERE name ILIKE '%ромашка 20%' OR company ILIKE '%ромашка 20%'"
            )
        )
    )
    assert "ix_leads_name_trgm" in plan and "ix_leads_company_trgm" in plan, plan
