"""``firma``: the command line. Exit 0 on success; bad input: one line on stderr, exit 2."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from pydantic import ValidationError

from crm_core.context import SYSTEM
from crm_core.db import unit_of_work
from crm_core.errors import DomainError
from firma.settings import Settings

T = TypeVar("T")


def _fail(message: str) -> None:
    click.echo(f"firma: {message}", err=True)
    sys.exit(2)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        _fail(f"bad setting FIRMA_{str(first['loc'][0]).upper()}: {first['msg']}")
        raise  # unreachable


def _runtime():
    from firma.runtime import Runtime

    return Runtime.from_settings(_settings())


def _in_transaction(use_case: Callable[..., Awaitable[T]]) -> T:
    """Run one use case in one transaction, mapping domain errors to exit code 2."""

    async def _run() -> T:
        runtime = _runtime()
        try:
            async with unit_of_work(runtime.sessions, actor=SYSTEM) as session:
                return await use_case(session)
        finally:
            await runtime.engine.dispose()

    try:
        return asyncio.run(_run())
    except DomainError as exc:
        _fail(exc.message)
        raise  # unreachable


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def cli(verbose: bool) -> None:
    """Firma CRM."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@cli.command()
@click.option("--host", default=None, help="Address to bind (FIRMA_HOST).")
@click.option("--port", default=None, type=int, help="Port (FIRMA_PORT).")
@click.option("--no-worker", is_flag=True, help="Do not run the worker in this process.")
@click.option("--no-bot", is_flag=True, help="Do not run the Telegram bot in this process.")
def serve(host: str | None, port: int | None, no_worker: bool, no_bot: bool) -> None:
    """Serve forms, API, back office and webhooks (+ worker, + bot)."""
    import uvicorn

    from firma.app import Runtime, create_app

    settings = _settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    runtime = Runtime.from_settings(settings)
    app = create_app(runtime, with_worker=not no_worker, with_bot=not no_bot)
    base = f"http://{settings.host}:{settings.port}"
    click.echo(
        f"Firma on {base}  (back office {base}/office/, API {base}/api/v1/docs, "
        f"health {base}/healthz)"
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


@cli.command()
def worker() -> None:
    """Background work only: outbox delivery, reminders, campaigns, exchanges."""
    from firma.worker import run_worker

    asyncio.run(run_worker(_runtime()))


@cli.command()
def bot() -> None:
    """The Telegram bot in long-polling mode (for a firm without a public URL)."""
    from bot.runtime import BotRuntime
    from firma.app import bot_config

    runtime = _runtime()
    config = bot_config(runtime.settings)
    if config is None:
        _fail("set FIRMA_TELEGRAM_BOT_TOKEN to run the bot")

    async def _run() -> None:
        import gc

        telegram = BotRuntime.build(config, runtime.sessions, clock=runtime.clock)
        from firma.app import install_stop_button

        install_stop_button(runtime, telegram.dispatcher)
        # As `firma serve` does: what start-up built lives as long as the process, and
        # frozen it is not walked by every full collection (ms-long stalls per update).
        gc.collect()
        gc.freeze()
        try:
            await telegram.run_polling()
        finally:
            await telegram.close()
            await runtime.engine.dispose()

    asyncio.run(_run())


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations to FIRMA_DATABASE_URL, then make sure reference data exists."""
    from crm_core import migrate
    from crm_core.reference import ensure_reference_data

    settings = _settings()
    migrate.upgrade_sync(settings.database_url, revision)
    if revision == "head":
        _in_transaction(ensure_reference_data)
    click.echo("database is up to date")


@db.command("rebuild-figures")
def db_rebuild_figures() -> None:
    """Recompute the orders' summaries (day figures, customers' order marks) that the
    funnel and the plan read, from the orders themselves. The order services keep them
    as they go; this is for a database changed behind their back."""
    from crm_core.orders.figures import rebuild_order_figures

    rows = _in_transaction(rebuild_order_figures)
    click.echo(f"order figures rebuilt: {rows} day rows")


@cli.command()
@click.option("--if-empty", is_flag=True, help="Load only into a database with no customers.")
def demo(if_empty: bool) -> None:
    """Load the demo firm (idempotent)."""
    from crm_core.demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, load_demo

    loaded = _in_transaction(lambda session: load_demo(session, only_if_empty=if_empty))
    click.echo("demo data loaded" if loaded else "demo data already present")
    click.echo(f"demo admin: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}")


@cli.group()
def employee() -> None:
    """Staff accounts."""


@employee.command("add")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["admin", "manager"]), default="manager")
@click.option("--password", default=None, help="Sign-in password for the back office.")
def employee_add(name: str, email: str, role: str, password: str | None) -> None:
    """Create a staff account."""
    from crm_core.employees.service import create_employee

    emp = _in_transaction(
        lambda s: create_employee(s, name=name, email=email, role=role, password=password)
    )
    click.echo(f"employee {emp.id} {emp.email} ({emp.role.value})")


@employee.command("invite")
@click.argument("email")
def employee_invite(email: str) -> None:
    """Print a one-time link (24 h) that binds the employee's Telegram account."""
    from crm_core.employees.invites import CODE_PREFIX, create_invite

    issued = _in_transaction(lambda s: create_invite(s, email=email))
    username = asyncio.run(_bot_username(_settings()))
    click.echo(f"https://t.me/{username}?start={CODE_PREFIX}{issued.code}")
    click.echo(f"valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC, once", err=True)


BOT_PLACEHOLDER = "YOUR_BOT"


async def _bot_username(settings: Settings) -> str:
    """The bot's @username from getMe; a placeholder without a token (README explains)."""
    from firma.app import bot_config

    config = bot_config(settings)
    if config is None:
        return BOT_PLACEHOLDER
    from bot.runtime import create_bot

    bot, _limits = create_bot(config)
    try:
        return (await bot.get_me()).username or BOT_PLACEHOLDER
    finally:
        await bot.session.close()


@cli.group()
def apitoken() -> None:
    """REST API tokens."""


@apitoken.command("create")
@click.option("--name", required=True)
def apitoken_create(name: str) -> None:
    """Print a new REST API token (shown only once)."""
    from crm_core.employees.tokens import create_api_token

    issued = _in_transaction(lambda s: create_api_token(s, name=name))
    click.echo(issued.token)


@cli.command("import")
@click.argument("kind", type=click.Choice(["customers", "products", "leads"]))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and say what would happen.")
@click.option("--map", "mapping", multiple=True, help='A column\'s field: "Header=field".')
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
def import_file(kind: str, file: str, dry_run: bool, mapping: tuple[str, ...], as_json: bool):
    """Import customers, products or leads from CSV, XLSX or vCard (customers)."""
    import json
    import os

    from channels.files.importer import run_import
    from channels.files.tabular import MAX_FILE_BYTES, FileRefused

    if not os.path.isfile(file):
        _fail(f"no such file: {file}")
    if os.path.getsize(file) > MAX_FILE_BYTES:
        _fail(f"{file}: the file is larger than {MAX_FILE_BYTES >> 20} MB")
    columns = {}
    for item in mapping:
        header, sep, field = item.rpartition("=")
        if not sep or not header.strip() or not field.strip():
            _fail(f'--map wants "Header=field", not {item!r}')
        columns[header.strip()] = field.strip()
    with open(file, "rb") as fh:
        data = fh.read()

    async def _run():
        runtime = _runtime()
        try:
            return await run_import(
                runtime.sessions,
                kind=kind,
                data=data,
                filename=file,
                dry_run=dry_run,
                mapping=columns,
                language="en",
            )
        finally:
            await runtime.engine.dispose()

    try:
        report = asyncio.run(_run())
    except FileRefused as exc:
        _fail(f"{file}: {exc}")
        raise  # unreachable
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
        return
    counts = report.counts
    head = "would be" if dry_run else "done"
    click.echo(
        f"{kind} {head}: {counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {counts['error']} errors ({len(report.results)} rows)"
    )
    for result in [r for r in report.results if r.errors][:100]:
        why = "; ".join(f"{k}: {v}" for k, v in result.errors.items())
        click.echo(f"row {result.row}: {why}", err=True)


@cli.command("export")
@click.argument("kind", type=click.Choice(["customers", "products", "leads", "orders"]))
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "vcf"]), default="csv")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
def export_file(kind: str, fmt: str, output: str) -> None:
    """Export customers, products, leads or orders to CSV, XLSX or vCard (customers)."""
    from channels.files.writers import write_csv, write_vcf, write_xlsx
    from crm_core.db import READ_ONLY
    from crm_core.imports.export import export_rows

    if fmt == "vcf" and kind != "customers":
        _fail("vCard is for customers only")

    async def _run(fh) -> None:
        runtime = _runtime()
        try:
            async with runtime.sessions() as session:
                await session.connection(execution_options=READ_ONLY)
                batches = export_rows(session, kind)
                if fmt == "xlsx":
                    await write_xlsx(batches, fh)
                    return
                writer = write_vcf if fmt == "vcf" else write_csv
                async for chunk in writer(batches):
                    fh.write(chunk)
        finally:
            await runtime.engine.dispose()

    try:
        with open(output, "wb") as fh:
            asyncio.run(_run(fh))
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}")
    click.echo(f"{kind} exported to {output}")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        _fail("aborted")
    except click.ClickException as exc:
        _fail(exc.format_message())
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
