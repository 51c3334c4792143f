"""The worker job that exchanges with each due store: catalog and offers out, orders
in, statuses back. One run per store at a time (a lease claimed in SQL); every run
leaves one log row with what moved and, when it stopped, why.

Nothing is lost on a failure: the store's orders are told ``success`` only after
they are committed in Firma, statuses are marked synced only after the store took
them, and a catalog upload that broke off starts over (``init`` clears the store's
half-received files) at the next attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from lxml import etree
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.commerceml import UnsafeXML
from channels.commerceml.documents import read_documents
from channels.commerceml.writer import write_catalog, write_offers, write_orders
from channels.stores.client import ClientLimits, CommerceMLClient, StoreAuthError, StoreError
from crm_core.context import Actor, ActorKind, Clock, SystemClock
from crm_core.db import unit_of_work
from crm_core.exchange.catalog_export import (
    export_groups,
    export_offers,
    export_price_types,
    export_products,
    export_properties,
)
from crm_core.exchange.log import MAX_ERRORS
from crm_core.exchange.store_orders import apply_store_documents, changed_store_orders, mark_synced
from crm_core.exchange.stores import claim_due_store, decrypt_password, finish_run
from crm_core.models import ExchangeLog, Store

log = logging.getLogger(__name__)
ACTOR = Actor(ActorKind.SYSTEM, None, "store exchange")
CATALOG_ID = "firma-catalog"


@dataclass(frozen=True)
class StoreRunConfig:
    secret_key: str
    timezone: str = "Europe/Moscow"
    work_dir: str = "./data/exchange/stores"
    catalog_attempts: int = 2  # a dropped upload is started over once
    idle_sleep_s: float = 30.0
    limits: ClientLimits = field(default_factory=ClientLimits)


@dataclass
class _Snapshot:
    store_id: int
    name: str
    url: str
    login: str
    password: str | None
    send_catalog: bool


class StoreExchangeRunner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: StoreRunConfig,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.sessions, self.config = sessions, config
        self.clock = clock or SystemClock()
        self.transport = transport

    def _uow(self):
        return unit_of_work(self.sessions, actor=ACTOR, clock=self.clock)

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                ran = await self.run_once()
            except Exception:  # one broken run must not stop the others for good
                log.exception("store exchange step failed")
                ran = 0
            if not ran:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.config.idle_sleep_s)

    async def run_once(self) -> int:
        """Run one due store, if any; returns how many ran (0 or 1)."""
        async with self._uow() as session:
            store = await claim_due_store(session)
            if store is None:
                return 0
            snapshot = self._snapshot(store)
            entry = ExchangeLog(
                peer="store",
                direction="both",
                type="run",
                mode="client",
                filename=store.exchange_url[:300],
                status="running",
                position=0,
                counts={},
                errors=[],
                started_at=self.clock.now(),
                store_id=store.id,
            )
            session.add(entry)
            await session.flush()
            entry_id = entry.id
        await self.run_store(snapshot, entry_id)
        return 1

    def _snapshot(self, store: Store) -> _Snapshot:
        return _Snapshot(
            store.id,
            store.name,
            store.exchange_url,
            store.login,
            decrypt_password(self.config.secret_key, store.password_encrypted),
            store.send_catalog,
        )

    async def run_store(self, store: _Snapshot, entry_id: int) -> str:
        counts: Counter = Counter()
        errors: list[dict[str, Any]] = []
        status, message = "success", None
        directory = _work_dir(self.config.work_dir, store.store_id)
        try:
            if not store.password:
                raise StoreAuthError("no password set (or FIRMA_SECRET_KEY changed): set it again")
            timeout = httpx.Timeout(self.config.limits.timeout_s)
            async with httpx.AsyncClient(timeout=timeout, transport=self.transport) as http:
                if store.send_catalog:
                    await self._catalog(http, store, directory, counts)
                await self._sale(http, store, directory, counts, errors)
        except StoreError as exc:
            status, message = "failure", str(exc)
        except (UnsafeXML, etree.XMLSyntaxError, ValueError) as exc:
            status, message = "failure", f"the store's orders file is broken: {exc}"
        except Exception as exc:  # logged and recorded: the next run picks up
            log.exception("store %s exchange crashed", store.store_id)
            status, message = "failure", f"internal error: {exc!r}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        if status == "failure":
            log.warning("store %s (%s) exchange failed: %s", store.store_id, store.name, message)
        async with self._uow() as session:
            entry = await session.get(ExchangeLog, entry_id)
            if entry is not None:
                entry.status = status
                entry.message = message
                entry.counts = dict(counts)
                entry.errors = errors[:MAX_ERRORS]
                entry.position = counts.get("orders_read", 0)
                entry.finished_at = self.clock.now()
            await finish_run(session, store.store_id, status=status, message=message)
        return status

    async def _client(self, http: httpx.AsyncClient, store: _Snapshot) -> CommerceMLClient:
        client = CommerceMLClient(
            http, store.url, store.login, store.password or "", limits=self.config.limits
        )
        return client

    async def _catalog(
        self, http: httpx.AsyncClient, store: _Snapshot, directory: Path, counts: Counter
    ) -> None:
        files = {"import.xml": directory / "import.xml", "offers.xml": directory / "offers.xml"}
        async with self._uow() as session:
            groups = await export_groups(session)
            properties = await export_properties(session)
            price_types = await export_price_types(session)
            counts["products_sent"] = await write_catalog(
                str(files["import.xml"]),
                groups=groups,
                properties=properties,
                products=export_products(session),
                catalog_id=CATALOG_ID,
                at=self.clock.now(),
            )
        async with self._uow() as session:
            counts["offers_sent"] = await write_offers(
                str(files["offers.xml"]),
                price_types=price_types,
                offers=export_offers(session),
                catalog_id=CATALOG_ID,
                at=self.clock.now(),
            )
        for attempt in range(1, self.config.catalog_attempts + 1):
            client = await self._client(http, store)
            try:
                await client.checkauth("catalog")
                await client.init("catalog")
                await client.upload_files("catalog", files)
                for name in files:
                    counts["import_calls"] += await client.import_file("catalog", name)
                counts["bytes_sent"] += client.sent_bytes
                return
            except StoreAuthError:
                raise
            except StoreError as exc:
                if attempt == self.config.catalog_attempts:
                    raise
                counts["catalog_retries"] += 1
                log.warning("store %s catalog upload: %s; starting over", store.store_id, exc)

    async def _sale(
        self,
        http: httpx.AsyncClient,
        store: _Snapshot,
        directory: Path,
        counts: Counter,
        errors: list[dict[str, Any]],
    ) -> None:
        client = await self._client(http, store)
        await client.checkauth("sale")
        await client.init("sale")
        body = await client.query()
        path = directory / "orders-in.xml"
        path.write_bytes(body)
        documents = await asyncio.to_thread(_read_all, path, self.config.timezone)
        counts["orders_read"] = len(documents)
        async with self._uow() as session:
            await apply_store_documents(
                session,
                store.store_id,
                documents,
                timezone=self.config.timezone,
                counts=counts,
                errors=errors,
            )
        # Only now, with the orders committed, may the store forget it has to send them.
        await client.success()
        async with self._uow() as session:
            documents, snapshot = await changed_store_orders(
                session, store.store_id, timezone=self.config.timezone
            )
        if not documents:
            return
        out = directory / "orders-out.xml"
        await write_orders(str(out), documents, timezone=self.config.timezone)
        await client.upload("sale", f"orders-{store.store_id}.xml", out.read_bytes())
        async with self._uow() as session:
            await mark_synced(session, snapshot)
        counts["statuses_sent"] = len(snapshot)


def _work_dir(root: str, store_id: int) -> Path:
    """A fresh directory for this run's files (removed when the run ends)."""
    Path(root).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"store-{store_id}-", dir=root))


def _read_all(path: Path, timezone: str) -> list:
    with path.open("rb") as fh:
        return list(read_documents(fh, timezone=timezone))
