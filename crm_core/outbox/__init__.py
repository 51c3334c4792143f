"""The outbox: domain events written with the change, delivered by workers exactly once.

``emit`` adds an event row to the caller's transaction. ``claim`` takes a batch of
due rows for one worker (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on
SQLite) and leases them; ``complete`` and ``fail`` settle them. A lease that runs out
(a worker died) makes its rows claimable again; repeated failure moves a row to
``dead`` for a person to look at. ``OutboxRelay`` runs the loop for ``firma worker``.
"""

from crm_core.outbox.relay import OutboxRelay
from crm_core.outbox.service import (
    ClaimedEvent,
    claim,
    complete,
    emit,
    fail,
    mark_as_history,
    purge_done,
    stats,
)

__all__ = [
    "ClaimedEvent",
    "OutboxRelay",
    "claim",
    "complete",
    "emit",
    "fail",
    "mark_as_history",
    "purge_done",
    "stats",
]
