"""The campaign worker: claims pending delivery rows, sends, records each result.

Nothing lost, nothing doubled:
- Rows are claimed (pending → sending, with ``claimed_at``) in a short transaction
  that commits before any message leaves; PostgreSQL workers skip each other's rows
  (``FOR UPDATE SKIP LOCKED``), SQLite serialises writers (``BEGIN IMMEDIATE``).
- Up to ``concurrency`` messages are in flight at once. A send slot is given back
  only once its result is committed (results are committed in groups, one
  transaction for whatever finished meanwhile), so a killed worker leaves at most
  ``concurrency`` rows sent but not recorded. When their lease runs out they go back
  to pending and are sent again — with the same ``Message-ID`` (derived from campaign
  and recipient), so the receiver can drop the copy.
- A row marked sent is never claimed again.
- A claim is about one second of sending, and between sends the worker re-reads the
  campaign's state every quarter second (while one sender reads it, the others hand
  nothing on): pause and cancel take effect within a second; claimed rows not yet
  sent go back to pending.
- A cancel settles every row: pending ones are skipped at once; claimed ones not yet
  handed to the transport are skipped when the worker sees the cancel; one in flight
  ends sent or failed by the server's answer, or skipped where it would have been
  retried; a dead worker's claims end skipped when their lease runs out.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.cart.telegram import set_telegram_unreachable
from crm_core.context import SYSTEM, Clock, now
from crm_core.db import READ_ONLY, unit_of_work
from crm_core.models import (
    Campaign,
    CampaignState,
    Channel,
    Customer,
    Delivery,
    DeliveryStatus,
    SuppressedAddress,
    Template,
)
from crm_core.rate import (
    Limit,
    LocalSlots,
    Rate,
    Slots,
    campaign_limit,
    channel_limit,
    telegram_limit,
)
from messaging.campaigns import begin_sending
from messaging.channels import ChannelSenders, campaign_message_id
from messaging.config import MessagingConfig
from messaging.context import build_contexts
from messaging.email import EmailTransport
from messaging.outcome import SendResult
from messaging.pacing import RealTimer, Timer
from messaging.quiet import quiet_until, recipient_zone
from messaging.sms import SmsProvider
from messaging.sms_reports import SmsReportPoller, expect_reports, report_row

if TYPE_CHECKING:
    from messaging.telegram import TelegramSender

log = logging.getLogger(__name__)
D = DeliveryStatus
MAX_ATTEMPTS = 4
RETRY_BASE = timedelta(seconds=30)
MAX_RETRY_AFTER = 5  # Telegram 429s in a row for one message before it is put back
STATE_CHECK = 0.25  # seconds between re-reads of the campaign's state while sending
GROUP_WAIT = 0.005  # seconds a result waits for others to share its commit
PASS_SECONDS = 5.0  # one campaign's turn in a pass, then the others get theirs
DEFER_STEP = 5_000  # rows a claim may put back at once for quiet hours
REPORTS_EVERY = 30.0  # seconds between two asks for SMS delivery reports
# A campaign whose server or gateway cannot be reached rests this long, doubling up
# to OUTAGE_MAX while the outage lasts, then tries again; its rows keep their attempts.
OUTAGE_REST = 5.0
OUTAGE_MAX = 300.0

__all__ = ["CampaignRunner", "campaign_message_id", "create_campaign_runner"]


# Campaigns whose rows may be left in ``sending`` by a dead worker: a finished one has
# none (it finishes only once no row is pending or sending), nor has one not started.
_RESUMABLE = (CampaignState.SENDING, CampaignState.PAUSED)
CANCELLED_DETAIL = "campaign cancelled"


def recover_lost_claims(claimed_before: datetime) -> tuple:
    """Rows whose worker died mid-send (the lease ran out) go back to pending — or,
    in a cancelled campaign, end skipped, as do its pending rows (one a worker
    recorded as "retry later" while the cancel was committing). A cancelled
    campaign's rows thus all settle, and none is sent after the cancel.

    Looked up per campaign that may hold such rows, through the claim index
    (campaign_id, status, id), rather than by a scan of every delivery row ever
    written (measured in bench/README.md: the scan grows with the firm's history)."""
    live = select(Campaign.id).where(Campaign.state.in_(_RESUMABLE))
    cancelled = select(Campaign.id).where(Campaign.state == CampaignState.CANCELLED)
    lost = and_(Delivery.status == D.SENDING, Delivery.claimed_at < claimed_before)
    settled = dict(status=D.SKIPPED, claimed_at=None, retry_at=None, detail=CANCELLED_DETAIL)
    # One status per statement: each is a range of the claim index, however many rows
    # the campaign's history holds in other statuses.
    return (
        update(Delivery)
        .where(Delivery.campaign_id.in_(live.scalar_subquery()), lost)
        .values(status=D.PENDING),
        update(Delivery)
        .where(Delivery.campaign_id.in_(cancelled.scalar_subquery()), lost)
        .values(**settled),
        update(Delivery)
        .where(Delivery.campaign_id.in_(cancelled.scalar_subquery()), Delivery.status == D.PENDING)
        .values(**settled),
    )


def _record_statement():
    """The results of a group as one executemany, built once (a group commits every
    few milliseconds; building the statement was a third of its cost)."""
    table = Delivery.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.status == D.SENDING.value)
        .values(
            status=bindparam("b_status"),
            sent_at=bindparam("b_sent_at"),
            retry_at=bindparam("b_retry_at"),
            detail=bindparam("b_detail"),
            message_id=bindparam("b_message_id"),
            attempts=bindparam("b_attempts"),
        )
    )


_RECORD = _record_statement()


def _settle_cancelled(ids: list[int]):
    """Of these pending rows, those of a cancelled campaign end skipped."""
    cancelled = exists().where(
        Campaign.id == Delivery.campaign_id, Campaign.state == CampaignState.CANCELLED
    )
    return (
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == D.PENDING, cancelled)
        .values(status=D.SKIPPED, claimed_at=None, retry_at=None, detail=CANCELLED_DETAIL)
    )


class _Batch:
    """The rows of one campaign being sent in one pass; refilled by further claims
    while the pass lasts, so the senders never wait for the database between claims."""

    def __init__(self, campaign: Campaign, template: Template, rows: list) -> None:
        self.campaign, self.template = campaign, template
        self.rows = collections.deque(rows)
        self.claimed = len(rows)
        self.stopped = False
        self.exhausted = False
        self.checked_at = 0.0
        self.deadline = 0.0
        self.refill = asyncio.Lock()
        # Held by the sender re-reading the campaign's state: the others hand nothing
        # on to the transport until it has answered (a cancel seen stops them all).
        self.looking = asyncio.Lock()


class CampaignRunner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        transport: EmailTransport | None,
        config: MessagingConfig,
        *,
        sms: SmsProvider | None = None,
        telegram: TelegramSender | None = None,
        clock: Clock | None = None,
        timer: Timer | None = None,
        batch_size: int = 500,
        concurrency: int = 8,
        lease: timedelta = timedelta(minutes=5),
        idle_sleep: float = 0.5,
        slots: Slots | None = None,
    ) -> None:
        self.sessions, self.config, self.clock = sessions, config, clock
        self.senders = ChannelSenders(config, email=transport, sms=sms, telegram=telegram)
        self.timer = timer or RealTimer()
        self.batch_size, self.concurrency = batch_size, max(1, concurrency)
        self.lease, self.idle_sleep = lease, idle_sleep
        # Send slots per campaign (and per bot): this process's, or shared through
        # Redis by every worker (crm_core/rate.py), so N workers keep one rate.
        self.slots = slots or LocalSlots(monotonic=self.timer.monotonic, sleep=self.timer.sleep)
        # Campaigns this worker just paused (auto-pause): its senders stop at once.
        self._halted: set[int] = set()
        # Campaigns resting after an outage: until when (monotonic) and the rest's length.
        self._resting: dict[int, tuple[float, float]] = {}
        self._record_lock = asyncio.Lock()
        self._pending: list[tuple[Any, SendResult, int, asyncio.Future]] = []
        self._channels: dict[int, Channel] = {}  # of the campaigns this worker sent
        # SMS delivery reports, asked about between passes (messaging/sms_reports.py).
        self.reports = SmsReportPoller(sessions, sms, clock=clock) if sms is not None else None
        self._reports_at = float("-inf")

    @property
    def transport(self) -> EmailTransport | None:
        return self.senders.email

    def _uow(self):
        return unit_of_work(self.sessions, actor=SYSTEM, clock=self.clock)

    async def close(self) -> None:
        await self.senders.close()
        await self.slots.close()

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:  # one bad step must not stop every campaign for good
                log.exception("campaign step failed")
                handled = 0
            await self._ask_for_reports()
            if not handled:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.idle_sleep)

    async def _ask_for_reports(self) -> None:
        """Every ``REPORTS_EVERY`` seconds, the due SMS delivery reports (a batch)."""
        if self.reports is None or self.timer.monotonic() - self._reports_at < REPORTS_EVERY:
            return
        self._reports_at = self.timer.monotonic()
        try:
            await self.reports.run_once()
        except Exception:
            log.exception("SMS delivery reports failed")

    # ------------------------------------------------------------------ one pass

    async def run_once(self) -> int:
        """One pass: start due campaigns, recover lost claims, send about a second's
        worth of each sending campaign, finish the drained ones. Returns rows handled."""
        async with self._uow() as session:
            at = now(session)
            due = await session.scalars(
                select(Campaign.id).where(
                    Campaign.state == CampaignState.SCHEDULED, Campaign.scheduled_at <= at
                )
            )
            for campaign_id in list(due):
                await begin_sending(session, campaign_id)
            for statement in recover_lost_claims(at - self.lease):
                await session.execute(statement)
            sending = (
                await session.execute(
                    select(Campaign.id, Campaign.channel).where(
                        Campaign.state == CampaignState.SENDING
                    )
                )
            ).all()
        handled = 0
        served = [cid for cid, channel in sending if self.senders.serves(channel)]
        for campaign_id, _channel in sending:
            if campaign_id not in served or self._rests(campaign_id):
                continue
            handled += await self._send_batch(campaign_id)
        await self._finish_drained(served)
        return handled

    def _rests(self, campaign_id: int) -> bool:
        rest = self._resting.get(campaign_id)
        return rest is not None and self.timer.monotonic() < rest[0]

    def _outage(self, campaign_id: int, detail: str) -> None:
        """The campaign's senders stop and it rests: the service is down for every
        recipient, so each row tried meanwhile would only cost a connection attempt."""
        self._halted.add(campaign_id)
        previous, at = self._resting.get(campaign_id), self.timer.monotonic()
        if previous is not None and at < previous[0]:
            return  # a send of the same burst: the rest has begun already
        length = min(previous[1] * 2, OUTAGE_MAX) if previous else OUTAGE_REST
        self._resting[campaign_id] = (at + length, length)
        log.warning("campaign %s rests %.0f s: %s", campaign_id, length, detail)

    def _channel_cap(self, channel: Channel) -> float | None:
        if channel == Channel.TELEGRAM:
            telegram = self.senders.telegram
            return float(telegram.config.max_rate) if telegram is not None else None
        cap = self.config.email_max_rate if channel == Channel.EMAIL else self.config.sms_max_rate
        return float(cap) if cap else None

    def _rate(self, campaign: Campaign) -> float:
        rate = float(campaign.rate_per_second)
        cap = self._channel_cap(campaign.channel)
        return rate if cap is None else min(rate, cap)

    def _limits(self, campaign: Campaign) -> tuple[Limit, ...]:
        """The campaign's own rate, and its channel's, which every campaign (and,
        through Redis, every worker) shares: on Telegram the bot's (the staff
        messages take from it too), on email and SMS the configured cap, if any."""
        limits = [campaign_limit(campaign.id, float(campaign.rate_per_second))]
        cap = self._channel_cap(campaign.channel)
        if campaign.channel == Channel.TELEGRAM and cap is not None:
            limits.append(telegram_limit(self.senders.telegram.config.token, cap))
        elif cap is not None:
            limits.append(channel_limit(Channel(campaign.channel).value, cap))
        return tuple(limits)

    def _claim_size(self, campaign: Campaign) -> int:
        """About one second of sending, and at least two slots per sender."""
        return max(2 * self.concurrency, min(self.batch_size, int(self._rate(campaign))))

    async def _claim(self, campaign_id: int, limit: int | None = None) -> _Batch | None:
        """Claim the next pending rows. SMS rows whose recipient is in quiet hours go
        back to pending until those end; the claim goes on (in bigger steps) until it
        has rows to send or none are left, so a night defers a campaign in a few
        transactions and the morning finds every row where it was."""
        while True:
            async with self._uow() as session:
                at = now(session)
                campaign = await session.get(Campaign, campaign_id)
                if campaign is None or campaign.state != CampaignState.SENDING:
                    return None
                template = await session.get(Template, campaign.template_id)
                limit = limit or self._claim_size(campaign)
                quiet = campaign.channel == Channel.SMS and self._quiet_hours_apply()
                rows = await self._claim_rows(session, campaign_id, at, limit, zones=quiet)
                deferred = await self._defer_quiet(session, rows, at) if quiet else set()
                rows = [r for r in rows if r.id not in deferred]
                if rows or not deferred:
                    contexts = await build_contexts(session, [r.customer_id for r in rows])
                    break
            limit = min(limit * 4, DEFER_STEP)
        missing = {"customer": None, "firm": {}, "order": None, "contact": None}
        pairs = [(r, contexts.get(r.customer_id, dict(missing))) for r in rows]
        return _Batch(campaign, template, pairs)

    async def _claim_rows(
        self, session: AsyncSession, campaign_id: int, at: datetime, limit: int, *, zones: bool
    ) -> list:
        """pending → sending for up to ``limit`` rows, in id order; with ``zones``
        each row carries its customer's own time zone too."""
        ids = (
            select(Delivery.id)
            .where(
                Delivery.campaign_id == campaign_id,
                Delivery.status == D.PENDING,
                or_(Delivery.retry_at.is_(None), Delivery.retry_at <= at),
            )
            .order_by(Delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        columns = [Delivery.id, Delivery.customer_id, Delivery.address, Delivery.attempts]
        if zones:
            own = select(Customer.time_zone).where(Customer.id == Delivery.customer_id)
            columns.append(own.scalar_subquery().label("time_zone"))
        claimed = await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids.scalar_subquery()))
            .values(status=D.SENDING, claimed_at=at, attempts=Delivery.attempts + 1)
            .returning(*columns)
        )
        return sorted(claimed.all())

    def _quiet_hours_apply(self) -> bool:
        start, end = self.config.sms_quiet_hours
        return start != end

    async def _defer_quiet(self, session: AsyncSession, rows: list, at: datetime) -> set[int]:
        """Rows whose recipient is in quiet hours go back to pending with ``retry_at``
        at the end of them (their 09:00), the attempt given back. Returns their ids."""
        until: dict[datetime, list[int]] = {}
        for row in rows:
            zone = recipient_zone(row.time_zone, row.address, self.config.timezone)
            resume = quiet_until(at, zone, self.config.sms_quiet_hours)
            if resume is not None:
                until.setdefault(resume, []).append(row.id)
        for resume, ids in until.items():
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids), Delivery.status == D.SENDING)
                .values(
                    status=D.PENDING,
                    claimed_at=None,
                    retry_at=resume,
                    attempts=Delivery.attempts - 1,
                )
            )
        return {i for ids in until.values() for i in ids}

    async def _send_batch(self, campaign_id: int) -> int:
        batch = await self._claim(campaign_id)
        if batch is None or not batch.rows:
            return 0
        self._channels[campaign_id] = Channel(batch.campaign.channel)
        self._halted.discard(campaign_id)
        pacer = Rate(self.slots, *self._limits(batch.campaign))
        batch.checked_at = self.timer.monotonic()
        batch.deadline = batch.checked_at + PASS_SECONDS
        senders = [
            asyncio.create_task(self._sender_loop(batch, pacer))
            for _ in range(min(self.concurrency, len(batch.rows)))
        ]
        try:
            await asyncio.gather(*senders)
        finally:
            for task in senders:
                task.cancel()
            if batch.rows:  # paused, cancelled or failed meanwhile: unsent rows go back
                await self._release([row.id for row, _context in batch.rows])
        return batch.claimed - len(batch.rows)

    async def _refill(self, batch: _Batch, *, ahead: bool) -> None:
        """Claim the next rows while the last ones are still going out (``ahead``), or
        because none are left. One sender claims; the others keep sending."""
        if batch.refill.locked() and ahead:
            return
        async with batch.refill:
            low = len(batch.rows) <= self.concurrency if ahead else not batch.rows
            late = self.timer.monotonic() >= batch.deadline
            if not low or batch.exhausted or batch.stopped or late:
                return
            more = await self._claim(batch.campaign.id)
            if more is None or not more.rows:
                batch.exhausted = True
                return
            batch.rows.extend(more.rows)
            batch.claimed += len(more.rows)

    async def _sender_loop(self, batch: _Batch, pacer: Rate) -> None:
        campaign = batch.campaign
        while not batch.stopped:
            if not batch.rows:
                await self._refill(batch, ahead=False)
                if not batch.rows:
                    return
            await pacer.wait()
            if batch.looking.locked() or self._state_due(batch):
                async with batch.looking:
                    if self._state_due(batch):
                        batch.checked_at = self.timer.monotonic()
                        if not await self._still_sending(campaign.id):
                            batch.stopped = True
            batch.stopped = batch.stopped or campaign.id in self._halted
            if batch.stopped:
                return
            if not batch.rows:
                continue
            row, context = batch.rows.popleft()
            result = await self._deliver(batch, pacer, row, context)
            await self._record(row, result, campaign.id)
            if len(batch.rows) <= self.concurrency:
                await self._refill(batch, ahead=True)

    def _state_due(self, batch: _Batch) -> bool:
        return self.timer.monotonic() - batch.checked_at >= STATE_CHECK

    async def _deliver(self, batch: _Batch, pacer: Rate, row, context) -> SendResult:
        campaign = batch.campaign
        for _ in range(MAX_RETRY_AFTER):
            try:
                result = await self.senders.send(
                    campaign.channel, campaign.id, batch.template, row, context
                )
            except Exception as exc:  # a transport's surprise: this row waits and retries
                log.exception("campaign %s: sending row %s failed", campaign.id, row.id)
                return SendResult(False, "", f"error: {exc!r}"[:500])
            if result.retry_after is None:
                return result
            log.warning("campaign %s: told to wait %ss", campaign.id, result.retry_after)
            await pacer.hold(result.retry_after)
            await pacer.wait()
        return result

    async def _still_sending(self, campaign_id: int) -> bool:
        async with self.sessions() as session:
            # A read beside the writers: on SQLite it does not queue for the write lock.
            await session.connection(execution_options=READ_ONLY)
            state = await session.scalar(select(Campaign.state).where(Campaign.id == campaign_id))
        return state == CampaignState.SENDING

    async def _release(self, ids: list[int]) -> None:
        """Claimed rows not sent go back to pending, or to skipped when the campaign
        was cancelled meanwhile (a cancel skips every row not yet sent)."""
        async with self._uow() as session:
            cancelled = exists().where(
                Campaign.id == Delivery.campaign_id, Campaign.state == CampaignState.CANCELLED
            )
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids), Delivery.status == D.SENDING, cancelled)
                .values(status=D.SKIPPED, claimed_at=None, detail=CANCELLED_DETAIL)
            )
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids), Delivery.status == D.SENDING)
                .values(status=D.PENDING, claimed_at=None, attempts=Delivery.attempts - 1)
            )

    # ------------------------------------------------------------------ recording

    async def _record(self, row, result: SendResult, campaign_id: int) -> None:
        """Commit one result; whoever holds the lock commits everything finished so
        far in one transaction (group commit), and every sender waits for its own."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append((row, result, campaign_id, done))
        if self.concurrency > 1 and len(self._pending) * 2 < self.concurrency:
            # A few milliseconds for more results to join: one commit for many rows.
            await asyncio.sleep(GROUP_WAIT)
        async with self._record_lock:
            if not done.done():
                group, self._pending = self._pending, []
                try:
                    await self._write(group)
                except BaseException as exc:
                    for *_rest, fut in group:
                        if not fut.done():
                            fut.set_exception(exc)
                    raise
                for *_rest, fut in group:
                    if not fut.done():
                        fut.set_result(None)
        await done

    async def _write(self, group: list) -> None:
        async with self._uow() as session:
            at = now(session)
            values, failures, fatal, bad, blocked = [], {}, {}, [], []
            outages: dict[int, str] = {}
            reached: set[int] = set()
            for row, result, campaign_id, _fut in group:
                entry = {
                    "b_id": row.id,
                    "b_status": D.SENT.value,
                    "b_sent_at": None,
                    "b_retry_at": None,
                    "b_detail": result.detail[:2000] or None,
                    "b_message_id": (result.message_id or None) and result.message_id[:200],
                    "b_attempts": row.attempts,
                }
                if result.ok:
                    entry["b_sent_at"] = at
                    reached.add(campaign_id)
                elif result.outage:  # nobody's fault: the row waits for the service
                    entry.update(b_status=D.PENDING.value, b_attempts=row.attempts - 1)
                    outages[campaign_id] = result.detail
                elif result.fatal:  # not this recipient's fault: the row waits
                    entry.update(b_status=D.PENDING.value, b_attempts=row.attempts - 1)
                    fatal[campaign_id] = result.detail
                elif result.unreachable:
                    entry["b_status"] = D.SKIPPED.value
                    blocked.append(row.address)
                elif result.permanent or row.attempts >= MAX_ATTEMPTS:
                    entry["b_status"] = D.FAILED.value
                    failures[campaign_id] = failures.get(campaign_id, 0) + 1
                    if result.bad_address and row.address:
                        bad.append((campaign_id, row.address, result.detail))
                else:  # transient: back off 30 s, 60 s, 120 s …
                    entry["b_status"] = D.PENDING.value
                    entry["b_retry_at"] = at + RETRY_BASE * 2 ** (row.attempts - 1)
                values.append(entry)
            await session.execute(_RECORD, values)
            await expect_reports(session, self._report_rows(group, at))
            waiting = [e["b_id"] for e in values if e["b_status"] == D.PENDING.value]
            if waiting:  # to be retried — unless the campaign was cancelled meanwhile
                await session.execute(_settle_cancelled(waiting))
            channels = {}
            if bad:
                channels = dict(
                    (
                        await session.execute(
                            select(Campaign.id, Campaign.channel).where(
                                Campaign.id.in_({g[2] for g in group})
                            )
                        )
                    ).all()
                )
            for campaign_id, address, detail in bad:
                await self._suppress(session, channels[campaign_id], address, detail)
            for chat_id in blocked:
                if str(chat_id).lstrip("-").isdigit():
                    await set_telegram_unreachable(session, int(chat_id))
            for campaign_id, n in failures.items():
                await self._count_failures(session, campaign_id, n)
            for campaign_id, detail in fatal.items():
                await self._pause(session, campaign_id, detail)
        for campaign_id in reached - outages.keys():
            self._resting.pop(campaign_id, None)
        for campaign_id, detail in outages.items():
            self._outage(campaign_id, detail)

    def _report_rows(self, group: list, at: datetime) -> list[dict]:
        """A delivery report to wait for, for each SMS the gateway accepted."""
        sms = self.senders.sms
        return [
            report_row(sms.name, result.message_id, row.address, at, delivery_id=row.id)
            for row, result, campaign_id, _fut in group
            if result.ok
            and result.message_id
            and row.address
            and self._channels.get(campaign_id) == Channel.SMS
        ]

    async def _suppress(self, session, channel: Channel, address: str, detail: str) -> None:
        dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
        await session.execute(
            dialect.insert(SuppressedAddress)
            .values(channel=channel, address=address, reason=detail[:2000], created_at=now(session))
            .on_conflict_do_nothing(index_elements=["channel", "address"])
        )

    async def _count_failures(self, session, campaign_id: int, n: int) -> None:
        """Auto-pause: more than ``max_errors`` failures since the last (re)start."""
        counted = (
            await session.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id)
                .values(recent_failures=Campaign.recent_failures + n)
                .returning(Campaign.recent_failures, Campaign.max_errors)
            )
        ).first()
        if counted and counted.max_errors and counted.recent_failures > counted.max_errors:
            reason = (
                f"Paused after {counted.recent_failures} failed deliveries "
                f"(limit {counted.max_errors})"
            )
            await self._pause(session, campaign_id, reason)

    async def _pause(self, session, campaign_id: int, reason: str) -> None:
        result = await session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id, Campaign.state == CampaignState.SENDING)
            .values(state=CampaignState.PAUSED, pause_reason=reason[:2000], updated_at=now(session))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:
            self._halted.add(campaign_id)
            log.warning("campaign %s paused itself: %s", campaign_id, reason)

    async def _finish_drained(self, campaign_ids: list[int]) -> None:
        if not campaign_ids:
            return
        async with self._uow() as session:
            open_rows = exists().where(
                Delivery.campaign_id == Campaign.id, Delivery.status.in_([D.PENDING, D.SENDING])
            )
            await session.execute(
                update(Campaign)
                .where(
                    and_(Campaign.id.in_(campaign_ids), Campaign.state == CampaignState.SENDING),
                    ~open_rows,
                )
                .values(
                    state=CampaignState.FINISHED, finished_at=now(session), updated_at=now(session)
                )
                .execution_options(synchronize_session=False)
            )


def create_campaign_runner(
    sessions: async_sessionmaker[AsyncSession],
    config: MessagingConfig,
    *,
    clock: Clock | None = None,
    concurrency: int = 8,
) -> CampaignRunner:
    """A runner serving email always, SMS through the configured provider, and
    Telegram when the firm has a bot."""
    from crm_core.rate import create_slots
    from messaging.email import create_email_transport
    from messaging.sms import create_sms_provider

    telegram = None
    if config.telegram:
        from messaging.telegram import TelegramSender

        telegram = TelegramSender(config.telegram)

    try:
        sms = create_sms_provider(config.sms)
    except ValueError as exc:  # misconfigured: mail and Telegram still go, SMS waits
        log.error("SMS campaigns are not sent: %s", exc)
        sms = None
    return CampaignRunner(
        sessions,
        create_email_transport(config),
        config,
        sms=sms,
        telegram=telegram,
        clock=clock,
        concurrency=concurrency,
        slots=create_slots(config.redis_url, prefix=config.redis_prefix),
    )
