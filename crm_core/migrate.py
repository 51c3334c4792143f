"""Schema migrations (Alembic): the only way the schema is made."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (call outside a running event loop)."""
    command.upgrade(alembic_config(url), revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations over an existing async engine."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def _do(connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.connect() as connection:
        await connection.run_sync(_do)
        await connection.commit()


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def _do(connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.connect() as connection:
        await connection.run_sync(_do)
        await connection.commit()


def new_revision(message: str) -> None:
    """Autogenerate a revision against a scratch SQLite database at head."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/base.db"
        upgrade_sync(url)
        command.revision(alembic_config(url), message=message, autogenerate=True)


if __name__ == "__main__":  # python -m crm_core.migrate revision "message"
    if len(sys.argv) != 3 or sys.argv[1] != "revision" or not sys.argv[2].strip():
        sys.exit('usage: python -m crm_core.migrate revision "what changed"')
    new_revision(sys.argv[2])
