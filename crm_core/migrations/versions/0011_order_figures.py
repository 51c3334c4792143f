"""orders' summaries for the funnel: day figures and customers' order marks

``order_day_figures``: orders and their totals per UTC day, kind, state and
responsible. ``customer_order_marks``: per customer, live and fully paid orders. The
order services keep both (``crm_core/orders/figures.py``); filled here once from the
orders already there.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _day(dialect: str) -> str:
    if dialect == "postgresql":
        return "(orders.date AT TIME ZONE 'UTC')::date"
    return "date(orders.date)"  # SQLite keeps naive UTC text


def upgrade() -> None:
    op.create_table(
        "order_day_figures",
        sa.Column("kind_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("state_id", sa.Integer(), nullable=False),
        sa.Column("responsible_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("amount_kopecks", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kind_id"],
            ["order_kinds.id"],
            name=op.f("fk_order_day_figures_kind_id_order_kinds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["state_id"],
            ["order_states.id"],
            name=op.f("fk_order_day_figures_state_id_order_states"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "kind_id", "day", "state_id", "responsible_id", name=op.f("pk_order_day_figures")
        ),
    )
    op.create_index("ix_order_day_figures_day", "order_day_figures", ["day"])
    op.create_table(
        "customer_order_marks",
        sa.Column("customer_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("live_orders", sa.Integer(), nullable=False),
        sa.Column("paid_orders", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_order_marks_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_order_marks")),
    )
    day = _day(op.get_bind().dialect.name)
    # 0 stands for "no responsible" (crm_core.models.figures.NOBODY).
    op.execute(
        "INSERT INTO order_day_figures "
        "(kind_id, day, state_id, responsible_id, orders, amount_kopecks) "
        f"SELECT kind_id, {day}, state_id, coalesce(responsible_id, 0), count(*), "
        "coalesce(sum(CAST(round(total * 100) AS BIGINT)), 0) "
        f"FROM orders GROUP BY kind_id, {day}, state_id, coalesce(responsible_id, 0)"
    )
    live = "category <> 'cancelled'"
    op.execute(
        "INSERT INTO customer_order_marks (customer_id, live_orders, paid_orders) "
        f"SELECT customer_id, sum(CASE WHEN {live} THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN {live} AND total > 0 AND paid_amount >= total THEN 1 ELSE 0 END) "
        "FROM orders GROUP BY customer_id"
    )


def downgrade() -> None:
    op.drop_table("customer_order_marks")
    op.drop_index("ix_order_day_figures_day", table_name="order_day_figures")
    op.drop_table("order_day_figures")
