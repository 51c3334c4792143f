"""office: faster funnel, plan and lead search

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TRIGRAM = ("name", "company")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    # The orders journal sorted by amount.
    op.create_index("ix_orders_total_id", "orders", ["total", "id"])
    # A name search of leads on PostgreSQL (ILIKE '%text%'): trigram GIN indexes.
    # SQLite gets nothing here (no pg_trgm; its search stays a scan).
    if _postgresql():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in TRIGRAM:
            op.create_index(
                f"ix_leads_{column}_trgm",
                "leads",
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )


def downgrade() -> None:
    if _postgresql():
        for column in TRIGRAM:
            op.drop_index(f"ix_leads_{column}_trgm", table_name="leads")
        # The extension stays: other schemas of the database may use it.
    op.drop_index("ix_orders_total_id", table_name="orders")
