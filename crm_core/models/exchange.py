"""The log of exchanges with outside systems (1C, stores): what moved, what failed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, BigId, JSONType


class ExchangeLog(Base):
    """One exchange step sequence for one file (or one query) with one peer.

    ``position`` is how many records of the file are done: a large file is imported
    in steps (1C repeats ``mode=import`` while the answer is ``progress``), and the
    next step resumes from here, so a process restart loses nothing but one step.
    """

    __tablename__ = "exchange_logs"
    __table_args__ = (Index("ix_exchange_logs_session_file", "session_key", "filename"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    peer: Mapped[str] = mapped_column(String(30))  # "1c", later a store's name
    direction: Mapped[str] = mapped_column(String(10))  # "in" to Firma, "out" of it
    type: Mapped[str] = mapped_column(String(20))  # "catalog", "sale"
    mode: Mapped[str] = mapped_column(String(20))  # "import", "query", ...
    filename: Mapped[str | None] = mapped_column(String(300))
    session_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="running")
    position: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    errors: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
