"""ClaimsLedger: one method per use case over the event store.

Writes load one aggregate, check the version the client last saw, call one
command and save; keyed writes save an IdempotencyRecord in the same
transaction. Every write answers with the global position it committed at.
All methods are synchronous (the library's API is): callers on an event loop
must run them in a worker thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
)
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    EventStore,
    IntegrityError,
    InternalError,
    JSONTranscoder,
    Mapper,
    ProgrammingError,
)
from eventsourcing.sqlite import SQLiteDatastore

from service.application.batch import CURRENT, Batch, Deferred, Staged
from service.application.commands import (
    AmendClaim,
    AmendSource,
    AmendStance,
    ClaimCommand,
    Command,
    CorrectStance,
    CorrectWording,
    LinkClaims,
    ProposeClaim,
    RecordStance,
    RegisterSource,
    RetractStance,
    WithdrawLink,
)
from service.domain.affiliations import Affiliations
from service.domain.claim import Claim
from service.domain.errors import (
    AlreadyExistsError,
    ClaimNotFoundError,
    ConflictError,
    DomainError,
    IdempotencyKeyReusedError,
    SourceNotFoundError,
    VersionConflictError,
)
from service.domain.idempotency import IdempotencyRecord
from service.domain.ids import (
    affiliations_id,
    claim_id_for,
    idempotency_id_for,
    source_id_for,
)
from service.domain.limits import IDEMPOTENCY_KEY
from service.domain.recording import LedgerEvent, acting_as
from service.domain.source import Source, check_no_affiliation_cycle
from service.domain.values import KEEP
from service.persistence.positions import positions_of
from service.persistence.snapshots import SQLiteSnapshotRecorder, adopt_legacy
from service.persistence.transcodings import register_state_transcodings

A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class WriteResult:
    """What a write tells its caller: where it landed, and whether this answer
    is a replay of an earlier write with the same idempotency key."""

    aggregate_id: UUID
    version: int
    position: int
    replayed: bool
    created_id: UUID | None = None


@dataclass(frozen=True)
class Actor:
    """Who writes, and the idempotency key of this request, if any."""

    principal: str
    idempotency_key: str | None = None

    def checked(self) -> Actor:
        """The key follows the one text rule (so a blank key is refused)."""
        key = IDEMPOTENCY_KEY.clean_optional(self.idempotency_key)
        return Actor(self.principal, key)


@dataclass(frozen=True)
class Built:
    """What a use case built: the aggregate it changed, the id of what it
    created, and any other aggregate that must commit with it."""

    aggregate: Aggregate
    created_id: UUID | None = None
    also: tuple[Aggregate, ...] = ()


@dataclass(frozen=True)
class Write:
    """One write request: a use case of the ledger (a bound method), who
    asks, and what."""

    use_case: Callable[[Actor, Any], WriteResult]
    actor: Actor
    command: Command


def _run(write: Write) -> WriteResult:
    return write.use_case(write.actor, write.command)


@dataclass(frozen=True)
class RecordedEvent:
    """One stored event of a stream with its global position."""

    position: int | None
    event: LedgerEvent


LOG = logging.getLogger("claims_ledger")

SNAPSHOT_EVERY = 100
"""A claim's state is snapshotted at every hundredth version, so loading any
version (for a write, or a reading at a past basis) reads one snapshot and
at most 99 events, whatever the stream's length. A snapshot holds the whole
state, so a stream whose state grows with it (stances pile up) stores about
n^2 / 200 stances' worth over n events: 2,000 events cost some 20 snapshots."""


SNAPSHOTS = "compressed_snapshots"
"""The snapshots' table (stored_…, or the application's name on PostgreSQL).
Snapshots a store took before they were compressed (stored_snapshots,
claimsledger_snapshots) are compressed into it at start, once."""

R = TypeVar("R")

CREATE_ATTEMPTS = 5


RACES = ("concurrently updated", "already exists", "pg_type_typname_nsp_index")
"""How PostgreSQL fails the loser of two CREATE ... IF NOT EXISTS of one
table at once: the check and the creation are not atomic."""


def _raced(create: Callable[[], R]) -> R:
    """Several instances starting at once on one PostgreSQL database each
    run the library's CREATE ... IF NOT EXISTS, and all but one may fail
    (``RACES``). The statements are idempotent: a loser tries again."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            return create()
        except (InternalError, ProgrammingError, IntegrityError) as error:
            raced = any(race in str(error) for race in RACES)
            if not raced or attempt == CREATE_ATTEMPTS:
                raise
            LOG.info("creating tables raced another instance; again (%s)", error)
            time.sleep(0.05 * attempt)
    raise AssertionError  # unreachable: the last attempt returns or raises


class ClaimsLedger(Application[UUID]):
    name = "ClaimsLedger"
    # Turns on the library's snapshot store; the ledger takes them itself
    # (save() takes them only for aggregates, and the ledger saves events).
    snapshotting_intervals: ClassVar[dict[Any, int]] = {Claim: SNAPSHOT_EVERY}

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        new_id: Callable[[], UUID] = uuid4,
    ) -> None:
        super().__init__(env)
        self._new_id = new_id
        # Called with the position of each write this process commits (from
        # the writing thread), so followers of the log wake without polling.
        self.on_commit: list[Callable[[int], None]] = []

    def construct_recorder(self) -> ApplicationRecorder:
        """The library's recorder, whose tables it creates if missing."""
        return _raced(super().construct_recorder)

    def construct_snapshot_store(self) -> EventStore[UUID]:
        """The library's snapshot store, its snapshots compressed (a claim's
        whole state shrinks about tenfold), in a table laid out for big rows
        on SQLite (see service.persistence.snapshots)."""
        mapper: Mapper[UUID] = Mapper(
            transcoder=self.mapper.transcoder, compressor=ZlibCompressor()
        )
        datastore = getattr(self.factory, "datastore", None)
        recorder: AggregateRecorder
        if isinstance(datastore, SQLiteDatastore):
            recorder = SQLiteSnapshotRecorder(datastore, f"stored_{SNAPSHOTS}")
            recorder.create_table()
            legacy = "stored_snapshots"
        else:
            recorder = _raced(lambda: self.factory.aggregate_recorder(SNAPSHOTS))
            legacy = f"{self.name.lower()}_snapshots"
        moved = adopt_legacy(recorder, legacy)
        if moved:
            LOG.info("compressed %d snapshots of an earlier store", moved)
        return EventStore(mapper=mapper, recorder=recorder)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """A snapshot for each stored event at a snapshot interval, taken
        after its transaction commits; failing to take one fails no write
        (loads replay a little more until the next)."""
        for event in processing_event.events:
            for cls, interval in self.snapshotting_intervals.items():
                if (
                    isinstance(event, cls.Event)
                    and event.originator_version % interval == 0
                ):
                    try:
                        self.take_snapshot(
                            event.originator_id, event.originator_version
                        )
                    except Exception:
                        LOG.warning(
                            "no snapshot of %s at version %d",
                            event.originator_id,
                            event.originator_version,
                            exc_info=True,
                        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Events carry plain data; whole states (views, snapshots) carry
        the domain's value types too."""
        super().register_transcodings(transcoder)
        register_state_transcodings(transcoder)

    # ---- sources ------------------------------------------------------

    def register_source(self, actor: Actor, command: RegisterSource) -> WriteResult:
        source_id = source_id_for(command.key) if command.key else self._new_id()

        def build() -> Built:
            if self._exists(source_id):
                raise AlreadyExistsError(
                    "a source with this key exists", key=command.key
                )
            parent = command.profile.affiliation_id
            if parent is not None:
                self.get_source(parent)
            source = Source.register(
                id=source_id, key=command.key, profile=command.profile
            )
            return Built(source)

        return self._write(actor, command, build, created=True)

    def amend_source(self, actor: Actor, command: AmendSource) -> WriteResult:
        def build() -> Built:
            source = self._expect(
                self.get_source(command.source_id), command.expected_version
            )
            parent = command.changes.affiliation_id
            graph: list[Aggregate] = []
            if parent is not KEEP:
                guard = self._affiliations()
                if isinstance(parent, UUID):
                    self.get_source(parent)
                    check_no_affiliation_cycle(source.id, parent, self._parent_of)
                guard.record_change(source.id, parent)
                graph.append(guard)
            source.amend(command.changes, command.reason)
            return Built(source, also=tuple(graph))

        return self._write(actor, command, build)

    def _affiliations(self) -> Affiliations:
        """The affiliation graph's guard stream, started on first use."""
        try:
            guard: Aggregate = self._load(affiliations_id())
        except AggregateNotFoundError:
            return Affiliations(id=affiliations_id())
        assert isinstance(guard, Affiliations)  # noqa: S101 - the id is ours
        return guard

    def _parent_of(self, source_id: UUID) -> UUID | None:
        parent = self.get_source(source_id).affiliation_id
        return UUID(parent) if parent else None

    # ---- claims -------------------------------------------------------

    def propose_claim(self, actor: Actor, command: ProposeClaim) -> WriteResult:
        claim_id = claim_id_for(command.key) if command.key else self._new_id()

        def build() -> Built:
            if self._exists(claim_id):
                raise AlreadyExistsError(
                    "a claim with this key exists", key=command.key
                )
            claim = Claim.propose(
                id=claim_id,
                key=command.key,
                text=command.text,
                about=command.about,
                occurred=command.occurred,
            )
            return Built(claim)

        return self._write(actor, command, build, created=True)

    def record_stance(self, actor: Actor, command: RecordStance) -> WriteResult:
        """Every source in the chain must be registered before it is cited."""
        new_stance_id = command.stance_id or self._new_id()

        def change(claim: Claim) -> UUID:
            for source_id in command.chain:
                self.get_source(source_id)
            claim.record_stance(
                stance_id=new_stance_id,
                kind=command.kind,
                chain=command.chain,
                quote=command.quote,
                document=command.document,
                reported=command.reported,
                independent=command.independent,
                note=command.note,
            )
            return new_stance_id

        return self._change_claim(actor, command, change)

    def retract_stance(self, actor: Actor, command: RetractStance) -> WriteResult:
        return self._change_claim(
            actor,
            command,
            lambda claim: claim.retract_stance(
                command.stance_id, reason=command.reason, reported=command.reported
            ),
        )

    def correct_stance(self, actor: Actor, command: CorrectStance) -> WriteResult:
        return self._change_claim(
            actor,
            command,
            lambda claim: claim.correct_stance(
                command.stance_id,
                changes=command.changes,
                reason=command.reason,
                reported=command.reported,
            ),
        )

    def amend_stance(self, actor: Actor, command: AmendStance) -> WriteResult:
        def change(claim: Claim) -> None:
            chain = command.changes.chain
            for source_id in chain if isinstance(chain, tuple) else ():
                self.get_source(source_id)
            claim.amend_stance(
                command.stance_id, changes=command.changes, reason=command.reason
            )

        return self._change_claim(actor, command, change)

    def correct_wording(self, actor: Actor, command: CorrectWording) -> WriteResult:
        return self._change_claim(
            actor,
            command,
            lambda claim: claim.correct_wording(command.text, reason=command.reason),
        )

    def amend_claim(self, actor: Actor, command: AmendClaim) -> WriteResult:
        return self._change_claim(
            actor,
            command,
            lambda claim: claim.amend(command.changes, reason=command.reason),
        )

    def link_claims(self, actor: Actor, command: LinkClaims) -> WriteResult:
        new_link_id = command.link_id or self._new_id()

        def change(claim: Claim) -> UUID:
            self.get_claim(command.target_id)
            claim.link_to(
                link_id=new_link_id,
                target_id=command.target_id,
                kind=command.kind,
                note=command.note,
            )
            return new_link_id

        return self._change_claim(actor, command, change)

    def withdraw_link(self, actor: Actor, command: WithdrawLink) -> WriteResult:
        return self._change_claim(
            actor,
            command,
            lambda claim: claim.withdraw_link(command.link_id, reason=command.reason),
        )

    # ---- several writes at once ---------------------------------------

    def write_batch(self, writes: Sequence[Write]) -> list[WriteResult | Exception]:
        """Run each write as it would run alone, then commit them all in one
        transaction, their events in the order the writes ran: each gets its
        own answer or its own error, in order, and none is acknowledged before
        its transaction commits. Never raises: a failure is the answer of the
        writes it failed. A write that shares an idempotency key with an
        earlier one of the batch runs after that one commits; a failed commit
        (a concurrent writer elsewhere, the store) and a write that fails in
        an unexpected way send the batch through one write at a time."""
        results: list[WriteResult | Exception | None] = [None] * len(writes)
        todo = list(range(len(writes)))
        while todo:
            batch = Batch(self)
            staged: dict[int, Staged] = {}
            later: list[int] = []
            tainted = False
            token = CURRENT.set(batch)
            try:
                for i in todo:
                    try:
                        answer = _run(writes[i])
                    except Deferred:
                        later.append(i)
                        continue
                    except DomainError as error:
                        # Commands check before they record: nothing is left
                        # in the batch, unless a rule was broken.
                        results[i] = error
                        if batch.changed():
                            tainted = True
                            break
                        continue
                    except Exception:  # unexpected: trust nothing it touched
                        tainted = True
                        break
                    if batch.staged is None:
                        results[i] = answer  # a replay: nothing to write
                    else:
                        staged[i], batch.staged = batch.staged, None
            finally:
                CURRENT.reset(token)
            if tainted:
                for i in todo:
                    results[i] = self._alone(writes[i])
                break
            if staged:
                self._commit(batch, staged, writes, results)
            todo = later
        answered = [r for r in results if r is not None]
        if len(answered) != len(writes):  # pragma: no cover - every path answers
            raise RuntimeError("a write of the batch has no answer")
        return answered

    def _commit(
        self,
        batch: Batch,
        staged: dict[int, Staged],
        writes: Sequence[Write],
        results: list[WriteResult | Exception | None],
    ) -> None:
        try:
            recordings = self.save(*batch.events)
        except Exception:  # nothing of the batch committed: each on its own
            for i in staged:
                results[i] = self._alone(writes[i])
            return
        positions = {id(r.domain_event): r.notification.id for r in recordings}
        for i, write in staged.items():
            results[i] = replace(write.result, position=positions[id(write.last_event)])
        last = max(positions.values())
        for listener in self.on_commit:
            listener(last)

    def _alone(self, write: Write) -> WriteResult | Exception:
        try:
            return _run(write)
        except Exception as error:  # its own answer
            return error

    # ---- reads --------------------------------------------------------

    def get_claim(self, claim_id: UUID, version: int | None = None) -> Claim:
        return self._get(claim_id, Claim, ClaimNotFoundError, version)

    def get_source(self, source_id: UUID, version: int | None = None) -> Source:
        return self._get(source_id, Source, SourceNotFoundError, version)

    def stream(
        self, aggregate_id: UUID, up_to: int | None = None, after: int = 0
    ) -> list[RecordedEvent]:
        """The events of one stream (those above version ``after``, up to
        ``up_to``), oldest first, with their global positions."""
        events = [
            e
            for e in self.events.get(aggregate_id, gt=after or None, lte=up_to)
            if isinstance(e, LedgerEvent)
        ]
        positions = positions_of(self.recorder, aggregate_id, after, up_to)
        return [RecordedEvent(positions.get(e.originator_version), e) for e in events]

    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    # ---- the write pipeline ------------------------------------------

    def _get(
        self,
        aggregate_id: UUID,
        cls: type[A],
        missing: type[DomainError],
        version: int | None = None,
    ) -> A:
        snapshotted = cls in self.snapshotting_intervals
        try:
            aggregate: Aggregate = self._load(aggregate_id, version, snapshotted)
        except AggregateNotFoundError:
            raise missing("no such id", id=str(aggregate_id)) from None
        if not isinstance(aggregate, cls):
            raise missing("no such id", id=str(aggregate_id))
        return aggregate

    def _batch(self) -> Batch | None:
        """The batch this thread is running for this ledger, if any."""
        batch = CURRENT.get()
        return batch if batch is not None and batch.owner is self else None

    def _load(
        self, aggregate_id: UUID, version: int | None = None, snapshotted: bool = True
    ) -> Aggregate:
        """The aggregate as stored or, inside a batch, as the batch's earlier
        writes left it. One of a kind never snapshotted (a source) is folded
        from its events alone: the library would look for a snapshot first,
        which costs more than its few events (the snapshot table's rows are
        whole claims)."""
        batch = self._batch()
        if batch is not None and version is None:
            found = batch.touched.get(aggregate_id)
            if found is not None:
                return found
        if snapshotted:
            aggregate: Aggregate = self.repository.get(aggregate_id, version=version)
            return aggregate
        folded: Aggregate | None = None
        for event in self.events.get(aggregate_id, lte=version):
            folded = cast(Aggregate, cast(Aggregate.Event, event).mutate(folded))
        if folded is None:
            raise AggregateNotFoundError(aggregate_id)
        return folded

    def _exists(self, aggregate_id: UUID) -> bool:
        batch = self._batch()
        if batch is not None and aggregate_id in batch.touched:
            return True
        return aggregate_id in self.repository

    @staticmethod
    def _expect(aggregate: A, expected_version: int) -> A:
        if aggregate.version != expected_version:
            raise VersionConflictError(
                "the claim or source has changed since you read it",
                expected_version=expected_version,
                actual_version=aggregate.version,
            )
        return aggregate

    def _change_claim(
        self,
        actor: Actor,
        command: ClaimCommand,
        change: Callable[[Claim], UUID | None],
    ) -> WriteResult:
        """Load the claim at the version the client saw and apply one change;
        ``change`` returns the id of what it created, if anything."""

        def build() -> Built:
            claim = self._expect(
                self.get_claim(command.claim_id), command.expected_version
            )
            return Built(claim, change(claim))

        return self._write(actor, command, build)

    def _write(
        self,
        actor: Actor,
        command: Command,
        build: Callable[[], Built],
        *,
        created: bool = False,
    ) -> WriteResult:
        """Build the change and save it (with the key's record, if keyed).

        A keyed write that loses a race to an identical one (the same key and
        the same command) answers with the winner's result instead of an error.
        """
        actor = actor.checked()
        key = actor.idempotency_key
        fingerprint = command.fingerprint()
        batch = self._batch()
        if batch is not None and key:
            batch.defer_if_keyed_here(idempotency_id_for(actor.principal, key))
        replay = self._replay(actor, fingerprint)
        if replay is not None:
            return replay
        with acting_as(actor.principal, key):
            try:
                built = build()
                aggregate, created_id = built.aggregate, built.created_id
                pending: list[Aggregate] = [aggregate, *built.also]
                if key:
                    pending.append(
                        IdempotencyRecord(
                            id=idempotency_id_for(actor.principal, key),
                            fingerprint=fingerprint,
                            aggregate_id=str(aggregate.id),
                            version=aggregate.version,
                            created_id=str(created_id) if created_id else None,
                        )
                    )
                if batch is not None:
                    staged = WriteResult(
                        aggregate.id, aggregate.version, 0, False, created_id
                    )
                    return batch.stage(staged, aggregate, pending)
                recordings = self.save(*pending)
            except (ConflictError, IntegrityError) as error:
                replay = self._replay(actor, fingerprint)
                if replay is not None:
                    return replay
                if isinstance(error, ConflictError):
                    raise
                if created:
                    raise AlreadyExistsError("the key was taken concurrently") from None
                raise VersionConflictError(
                    "another write reached this version first"
                ) from None
        # The aggregate's own last event: records written beside it (the
        # key's record, the affiliation guard) are not in the change feed.
        position = max(
            r.notification.id
            for r in recordings
            if r.domain_event.originator_id == aggregate.id
        )
        for listener in self.on_commit:
            listener(position)
        return WriteResult(
            aggregate_id=aggregate.id,
            version=aggregate.version,
            position=position,
            replayed=False,
            created_id=created_id,
        )

    def _replay(self, actor: Actor, fingerprint: str) -> WriteResult | None:
        key = actor.idempotency_key
        if not key:
            return None
        record_id = idempotency_id_for(actor.principal, key)
        try:
            record: Aggregate = self.repository.get(record_id)
        except AggregateNotFoundError:
            return None
        assert isinstance(record, IdempotencyRecord)  # noqa: S101 - id space is ours
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReusedError(
                "this idempotency key was used for a different request", key=key
            )
        return WriteResult(
            aggregate_id=UUID(record.aggregate_id),
            version=record.written_version,
            position=positions_of(
                self.recorder,
                UUID(record.aggregate_id),
                record.written_version - 1,
                record.written_version,
            )[record.written_version],
            replayed=True,
            created_id=UUID(record.created_id) if record.created_id else None,
        )
