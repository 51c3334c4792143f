"""messaging: SMS delivery reports

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 21:55:16
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.models.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sms_reports",
        sa.Column("id", BigId, nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", BigId, nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["campaign_deliveries.id"],
            name=op.f("fk_sms_reports_delivery_id_campaign_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_sms_reports_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_reports")),
    )
    with op.batch_alter_table("sms_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_reports_delivery_id"), ["delivery_id"])
        batch_op.create_index("ix_sms_reports_due", ["provider", "due_at"])


def downgrade() -> None:
    with op.batch_alter_table("sms_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_reports_due")
        batch_op.drop_index(batch_op.f("ix_sms_reports_delivery_id"))
    op.drop_table("sms_reports")
