"""messaging: campaign auto-pause (max errors, reason) and suppressed addresses

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("max_errors", sa.Integer(), server_default="100", nullable=False)
        )
        batch_op.add_column(
            sa.Column("recent_failures", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("pause_reason", sa.Text(), nullable=True))
    op.create_table(
        "suppressed_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("email", "sms", "telegram", name="channel", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressed_addresses")),
        sa.UniqueConstraint(
            "channel", "address", name=op.f("uq_suppressed_addresses_channel_address")
        ),
    )


def downgrade() -> None:
    op.drop_table("suppressed_addresses")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("pause_reason")
        batch_op.drop_column("recent_failures")
        batch_op.drop_column("max_errors")
