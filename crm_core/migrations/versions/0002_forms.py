"""forms: one submission per form token, registration confirmation sent

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_nonce", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column(
                "confirmation_sent_at",
                crm_core.models.base.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_form_submissions_form_id_token_nonce"), ["form_id", "token_nonce"]
        )


def downgrade() -> None:
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_form_submissions_form_id_token_nonce"), type_="unique"
        )
        batch_op.drop_column("confirmation_sent_at")
        batch_op.drop_column("token_nonce")
