"""Several writes in one transaction: the unit of work they share.

Each write still loads, checks and changes its aggregate as it would alone,
but it finds the aggregates that earlier writes of the batch changed as they
left them (so two writes to one claim see each other's versions), and its
events wait, in the order the writes ran, to be saved with the others in one
``save``. A write that fails leaves nothing in the batch: every command checks
before it records, and the batch makes sure of it.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

if TYPE_CHECKING:
    from service.application.ledger import WriteResult


class Deferred(Exception):  # noqa: N818 - a signal, not a failure
    """The write must go in the next batch: an earlier write of this one holds
    its idempotency key, and the key's answer is known only once it commits."""


@dataclass(frozen=True)
class Staged:
    """A write waiting for its batch to commit: its answer but the position,
    and its last event, whose position the answer will carry."""

    result: WriteResult
    last_event: Any


class Batch:
    def __init__(self, owner: object) -> None:
        self.owner = owner
        """The ledger whose writes this batch gathers (another ledger on the
        same thread, another store perhaps, writes on its own)."""
        self.touched: dict[UUID, Aggregate] = {}
        """Every aggregate the batch's writes changed, as they left it."""
        self.events: list[Any] = []
        """Their events, in the order the writes ran: the log's order."""
        self.staged: Staged | None = None

    def defer_if_keyed_here(self, record_id: UUID) -> None:
        if record_id in self.touched:
            raise Deferred

    def stage(
        self, result: WriteResult, aggregate: Aggregate, pending: list[Aggregate]
    ) -> WriteResult:
        """Keep a write's changes: its aggregates for the writes after it,
        its events, in order, for the commit."""
        last = aggregate.pending_events[-1]
        for changed in pending:
            self.touched.setdefault(changed.id, changed)
            self.events.extend(changed.collect_events())
        self.staged = Staged(result, last)
        return result

    def changed(self) -> bool:
        """Whether an aggregate of the batch holds events no write staged: a
        failed write that changed it before failing."""
        return any(a.pending_events for a in self.touched.values())


CURRENT: ContextVar[Batch | None] = ContextVar("claims_ledger_batch", default=None)
