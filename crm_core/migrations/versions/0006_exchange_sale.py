"""exchange sale: stores, store orders, orders' way to 1C, product properties

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = crm_core.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "stores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("exchange_url", sa.String(length=500), nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("password_encrypted", sa.Text(), nullable=True),
        sa.Column("schedule_minutes", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("send_catalog", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", UTC(timezone=True), nullable=True),
        sa.Column("lease_until", UTC(timezone=True), nullable=True),
        sa.Column("last_run_at", UTC(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.Column("last_message", sa.Text(), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("updated_at", UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
    )
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stores_next_run_at"), ["next_run_at"], unique=False)

    op.create_table(
        "store_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=100), nullable=False),
        sa.Column("site_number", sa.String(length=60), nullable=True),
        sa.Column("synced_state_id", sa.Integer(), nullable=True),
        sa.Column("synced_paid", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("synced_shipped", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("updated_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_store_orders_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_orders_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["synced_state_id"],
            ["order_states.id"],
            name=op.f("fk_store_orders_synced_state_id_order_states"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_orders")),
        sa.UniqueConstraint("order_id", name=op.f("uq_store_orders_order_id")),
        sa.UniqueConstraint("store_id", "site_id", name=op.f("uq_store_orders_store_id_site_id")),
    )

    op.create_table(
        "onec_orders",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("query_key", sa.String(length=64), nullable=True),
        sa.Column("sent_at", UTC(timezone=True), nullable=True),
        sa.Column("taken_at", UTC(timezone=True), nullable=True),
        sa.Column("number_1c", sa.String(length=60), nullable=True),
        sa.Column("date_1c", UTC(timezone=True), nullable=True),
        sa.Column("posted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_onec_orders_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_onec_orders")),
    )
    with op.batch_alter_table("onec_orders", schema=None) as batch_op:
        batch_op.create_index("ix_onec_orders_query_key", ["query_key"], unique=False)

    op.create_table(
        "product_properties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_properties_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_properties")),
        sa.UniqueConstraint(
            "product_id", "name", name=op.f("uq_product_properties_product_id_name")
        ),
    )

    with op.batch_alter_table("exchange_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("store_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_exchange_logs_store_id_stores"),
            "stores",
            ["store_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_exchange_logs_store_id", ["store_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exchange_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_logs_store_id")
        batch_op.drop_constraint(batch_op.f("fk_exchange_logs_store_id_stores"), type_="foreignkey")
        batch_op.drop_column("store_id")
    op.drop_table("product_properties")
    with op.batch_alter_table("onec_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_onec_orders_query_key")
    op.drop_table("onec_orders")
    op.drop_table("store_orders")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stores_next_run_at"))
    op.drop_table("stores")
