"""manager notifications: staff_notifications become a durable send queue

Each row carries its rendered message and a lease, keyed by what it is about
(``key``) and unique per employee; the outbox event id is optional (reminders, the
daily agenda and overdue orders have none).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "staff_notifications"


def _json() -> sa.types.TypeEngine:
    from sqlalchemy.dialects import postgresql

    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("order_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reply_markup", _json(), nullable=True))
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="ru")
        )
        for column in ("due_at", "available_at", "locked_until"):
            batch_op.add_column(
                sa.Column(column, crm_core.models.base.UTCDateTime(timezone=True), nullable=True)
            )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
    # Rows of the first increment were about outbox events; they are never re-sent
    # (no available_at), the key only keeps them unique.
    op.execute(f"UPDATE {TABLE} SET key = 'outbox:' || CAST(outbox_event_id AS VARCHAR(20))")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_staff_notifications_outbox_event_id_employee_id", type_="unique"
        )
        batch_op.alter_column("key", existing_type=sa.String(length=120), nullable=False)
        batch_op.alter_column("outbox_event_id", existing_type=sa.BigInteger(), nullable=True)
        batch_op.alter_column("language", server_default=None)
        batch_op.alter_column("attempts", server_default=None)
        batch_op.create_unique_constraint(
            "uq_staff_notifications_key_employee_id", ["key", "employee_id"]
        )
        batch_op.create_index("ix_staff_notifications_order", ["order_id", "topic"])
        batch_op.create_index("ix_staff_notifications_due", ["status", "available_at"])


def downgrade() -> None:
    # Only outbox rows fit the old shape; the others (reminders, agendas) go.
    op.execute(f"DELETE FROM {TABLE} WHERE outbox_event_id IS NULL")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index("ix_staff_notifications_due")
        batch_op.drop_index("ix_staff_notifications_order")
        batch_op.drop_constraint("uq_staff_notifications_key_employee_id", type_="unique")
        batch_op.alter_column("outbox_event_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_unique_constraint(
            "uq_staff_notifications_outbox_event_id_employee_id",
            ["outbox_event_id", "employee_id"],
        )
        for column in (
            "last_error",
            "attempts",
            "locked_until",
            "available_at",
            "due_at",
            "language",
            "reply_markup",
            "text",
            "order_id",
            "key",
        ):
            batch_op.drop_column(column)
