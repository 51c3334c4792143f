"""office sign-in: sessions and sign-in attempts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_core.models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "office_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("created_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", crm_core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.id"],
            name=op.f("fk_office_sessions_employee_id_employees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_sessions")),
    )
    op.create_index("ix_office_sessions_token_hash", "office_sessions", ["token_hash"], unique=True)
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("at", crm_core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index("ix_login_attempts_email_at", "login_attempts", ["email", "at"])
    op.create_index("ix_login_attempts_ip_at", "login_attempts", ["ip", "at"])
    # Leads pages: the newest open leads first, and one manager's board and list.
    op.create_index("ix_leads_result_created", "leads", ["result", "created_at", "id"])
    op.create_index(
        "ix_leads_responsible_result_state",
        "leads",
        ["responsible_id", "result", "state_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_leads_responsible_result_state", table_name="leads")
    op.drop_index("ix_leads_result_created", table_name="leads")
    op.drop_index("ix_login_attempts_ip_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_email_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index("ix_office_sessions_token_hash", table_name="office_sessions")
    op.drop_table("office_sessions")
