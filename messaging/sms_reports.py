"""SMS delivery reports: whether the operator delivered what the gateway accepted.

Every SMS the gateway accepts (a campaign row, or a single send's event) gets an
``sms_reports`` row, written in the same transaction as the send's result. The
campaign worker asks the provider about the due ones in batches — one minute after
the send, then after 2, 5, 10, 30 minutes and every hour — until the answer is final
(``delivered`` or ``undelivered``) or two days have passed (``unknown``). Polling
needs no public URL, which many small firms do not have. A single send's report
becomes its event's ``delivery_status`` on the customer's card; a campaign's are
counted beside its delivery rows.

The provider is asked outside any transaction; the answers are written in one. Two
workers polling at once ask twice and write the same thing: a report already final
is never moved again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.context import SYSTEM, Clock, now
from crm_core.db import unit_of_work
from crm_core.events.service import update_event
from crm_core.models import Delivery, Event, SmsReport
from messaging.sms import SmsProvider

log = logging.getLogger(__name__)

CHECK_AFTER = tuple(
    timedelta(minutes=m) for m in (1, 2, 5, 10, 30, 60)
)  # after the send, then between asks; the last one repeats
GIVE_UP = timedelta(days=2)
BATCH = 200
FINAL = ("delivered", "undelivered", "unknown")


def report_row(
    provider: str,
    message_id: str,
    phone: str,
    at: datetime,
    *,
    delivery_id: int | None = None,
    event_id: int | None = None,
) -> dict[str, Any]:
    """The values of a new report row (first asked about a minute after ``at``)."""
    return {
        "provider": provider,
        "message_id": message_id[:200],
        "phone": phone[:32],
        "delivery_id": delivery_id,
        "event_id": event_id,
        "sent_at": at,
        "due_at": at + CHECK_AFTER[0],
        "checks": 0,
    }


async def expect_reports(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(SmsReport), rows)


async def report_counts(session: AsyncSession, campaign_ids: list[int]) -> dict[int, dict]:
    """Per campaign: its SMS by report — delivered, undelivered, unknown, waiting."""
    counts = {cid: dict.fromkeys((*FINAL, "waiting"), 0) for cid in campaign_ids}
    if campaign_ids:
        rows = await session.execute(
            select(Delivery.campaign_id, SmsReport.status, func.count())
            .join(Delivery, Delivery.id == SmsReport.delivery_id)
            .where(Delivery.campaign_id.in_(campaign_ids))
            .group_by(Delivery.campaign_id, SmsReport.status)
        )
        for cid, status, n in rows:
            counts[cid][status or "waiting"] += n
    return counts


class SmsReportPoller:
    """Asks the provider about due reports; ``run_once`` is one batch."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        provider: SmsProvider,
        *,
        clock: Clock | None = None,
        batch: int = BATCH,
    ) -> None:
        self.sessions, self.provider, self.clock, self.batch = sessions, provider, clock, batch

    def _uow(self):
        return unit_of_work(self.sessions, actor=SYSTEM, clock=self.clock)

    async def run_once(self) -> int:
        """Ask about up to ``batch`` due reports; returns how many were asked about."""
        async with self._uow() as session:
            due = (
                await session.execute(
                    select(
                        SmsReport.id,
                        SmsReport.message_id,
                        SmsReport.phone,
                        SmsReport.sent_at,
                        SmsReport.checks,
                        SmsReport.event_id,
                    )
                    .where(
                        SmsReport.provider == self.provider.name, SmsReport.due_at <= now(session)
                    )
                    .order_by(SmsReport.due_at)
                    .limit(self.batch)
                )
            ).all()
        if not due:
            return 0
        try:
            reports = await self.provider.statuses([(r.message_id, r.phone) for r in due])
        except Exception:  # a surprise from the provider: every row is asked again later
            log.exception("SMS delivery reports: the provider's answer failed")
            reports = {}
        async with self._uow() as session:
            at = now(session)
            for row in due:
                await self._write(session, row, reports.get(row.message_id), at)
        return len(due)

    async def _write(self, session: AsyncSession, row, report, at: datetime) -> None:
        values: dict[str, Any] = {"checks": row.checks + 1}
        if report is not None:
            values["detail"] = report.detail[:2000]
        if report is not None and report.state in FINAL:
            values.update(status=report.state, due_at=None)
        elif at - row.sent_at >= GIVE_UP:
            values.update(status="unknown", due_at=None)
            values.setdefault("detail", "no report from the provider within two days")
        else:
            values["due_at"] = at + CHECK_AFTER[min(row.checks + 1, len(CHECK_AFTER) - 1)]
        moved = await session.execute(
            update(SmsReport)
            .where(SmsReport.id == row.id, SmsReport.status.is_(None))
            .values(**values)
        )
        if moved.rowcount and row.event_id is not None and values.get("status"):
            event = await session.get(Event, row.event_id)
            if event is not None:  # the single send's card entry shows the report
                data = {**(event.data or {}), "delivery_status": values["status"]}
                await update_event(session, event.id, data={**data, "report": values.get("detail")})
