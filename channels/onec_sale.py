"""``/exchange/1c?type=sale``: Firma's orders out to 1C and 1C's word on them back.

``query`` answers the orders 1C has not taken yet as a CommerceML document file;
``success`` marks exactly the orders of that query taken; ``file`` (+ ``import``,
which newer 1C versions send as well) receives 1C's documents and applies them
(its number and date, posted, cancelled, paid, shipped) through the core.
"""

from __future__ import annotations

import asyncio
import io
import logging
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from fastapi.responses import PlainTextResponse, Response
from lxml import etree
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.commerceml import UnsafeXML
from channels.commerceml.documents import read_documents
from channels.commerceml.writer import write_orders
from channels.onec_files import OnecConfig, UnsafePath, safe_path, unpack_zips
from crm_core.context import Actor, ActorKind, Clock
from crm_core.db import unit_of_work
from crm_core.exchange.log import log_failure, open_log, record_step
from crm_core.exchange.onec_sale import apply_onec_documents, mark_taken_by_1c, orders_for_1c

log = logging.getLogger(__name__)
ACTOR = Actor(ActorKind.SYSTEM, None, "1C exchange")


def _text(text: str) -> PlainTextResponse:
    return PlainTextResponse(text)


class SaleExchange:
    """The sale modes of one endpoint (sessions, config and clock shared with catalog)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], config: OnecConfig, clock: Clock
    ) -> None:
        self.sessions, self.config, self.clock = sessions, config, clock

    def _uow(self):
        return unit_of_work(self.sessions, actor=ACTOR, clock=self.clock)

    async def query(self, key: str) -> Response:
        fields = {"peer": "1c", "direction": "out", "type": "sale", "mode": "query"}
        async with self._uow() as session:
            documents = await orders_for_1c(session, query_key=key, timezone=self.config.timezone)
            buffer = io.BytesIO()
            count = await write_orders(
                buffer, documents, timezone=self.config.timezone, at=self.clock.now()
            )
            entry = await open_log(session, **fields, session_key=key)
            record_step(
                entry,
                position=count,
                counts={"orders_sent": count},
                errors=[],
                done=True,
                at=self.clock.now(),
            )
        return Response(buffer.getvalue(), media_type="application/xml; charset=utf-8")

    async def success(self, key: str) -> PlainTextResponse:
        fields = {"peer": "1c", "direction": "out", "type": "sale", "mode": "success"}
        async with self._uow() as session:
            taken = await mark_taken_by_1c(session, query_key=key)
            entry = await open_log(session, **fields, session_key=key)
            record_step(
                entry,
                position=taken,
                counts={"orders_taken": taken},
                errors=[],
                done=True,
                at=self.clock.now(),
            )
        return _text("success\n")

    async def receive(self, directory: Path, key: str, filename: str, data: bytes):
        """A chunk of 1C's orders file; the last chunk (shorter than ``file_limit``)
        is applied at once, as 1C versions that send no ``import`` expect."""
        try:
            path = safe_path(directory, filename)
        except UnsafePath as exc:
            return PlainTextResponse(f"failure\n{exc}", status_code=400)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as fh:
            fh.write(data)
        if len(data) >= self.config.file_limit:
            return _text("success\n")  # more chunks follow
        return await self.apply(directory, key, filename)

    async def apply(self, directory: Path, key: str, filename: str) -> PlainTextResponse:
        fields = {"peer": "1c", "direction": "in", "type": "sale", "mode": "import"}
        try:
            unpack_zips(directory, self.config.max_unpacked)
            path = safe_path(directory, filename)
        except (UnsafePath, zipfile.BadZipFile) as exc:
            return PlainTextResponse(f"failure\n{exc}", status_code=400)
        done = path.with_name(path.name + ".applied")
        if done.exists() and not path.exists():
            return _text("success\n")  # applied at its last chunk; 1C sends import too
        names = _files(directory, path)
        if not names:
            return _text(f"failure\nФайл {filename} не был передан")
        counts: Counter = Counter()
        errors: list[dict[str, Any]] = []
        try:
            for name in names:
                documents = await asyncio.to_thread(_read_all, name, self.config.timezone)
                async with self._uow() as session:
                    await apply_onec_documents(
                        session,
                        documents,
                        timezone=self.config.timezone,
                        counts=counts,
                        errors=errors,
                    )
        except (UnsafeXML, etree.XMLSyntaxError, ValueError) as exc:
            log.warning("1C orders file %s refused: %s", filename, exc)
            message = f"{filename}: {exc}"
            async with self._uow() as session:
                await log_failure(
                    session,
                    entry_id=None,
                    message=message,
                    filename=filename,
                    session_key=key,
                    **fields,
                )
            return _text(f"failure\n{message}")
        for name in names:
            name.replace(name.with_name(name.name + ".applied"))
        async with self._uow() as session:
            entry = await open_log(session, **fields, filename=filename, session_key=key)
            record_step(
                entry,
                position=sum(counts.values()),
                counts=counts,
                errors=errors,
                done=True,
                at=self.clock.now(),
            )
        return _text("success\n")


def _files(directory: Path, path: Path) -> list[Path]:
    """The named XML file, or every XML file a zip unpacked."""
    names = [path] if path.suffix.lower() == ".xml" else sorted(directory.glob("*.xml"))
    return [p for p in names if p.is_file()]


def _read_all(path: Path, timezone: str) -> list:
    """Parsed in a worker thread: a large file must not stall the event loop."""
    with path.open("rb") as fh:
        return list(read_documents(fh, timezone=timezone))
