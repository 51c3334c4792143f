"""The schema is made by migrations only, and the models agree with it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crm_core import migrate
from crm_core.models import Base


async def test_models_and_migrations_agree(engine):
    def _diff(connection):
        def include(obj, name, kind, reflected, compare_to):
            # Indexes only PostgreSQL has (pg_trgm GIN, ``info={"postgresql_only": True}``)
            # are made by the migrations on PostgreSQL only.
            pg_only = kind == "index" and obj.info.get("postgresql_only")
            return not (pg_only and connection.dialect.name != "postgresql")

        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include}
        )
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_stairway_down_and_up_again(tmp_path):
    """Every revision downgrades and upgrades cleanly (on a throwaway SQLite file)."""
    from alembic.script import ScriptDirectory

    from crm_core.db import create_engine

    eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'stairway.db'}")
    script = ScriptDirectory.from_config(migrate.alembic_config(str(eng.url)))
    revisions = list(script.walk_revisions("base", "heads"))[::-1]
    try:
        for rev in revisions:
            await migrate.upgrade(eng, rev.revision)
            await migrate.downgrade(eng, rev.down_revision or "base")
            await migrate.upgrade(eng, rev.revision)
    finally:
        await eng.dispose()
