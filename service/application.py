"""ClaimsLedger: one method per use case over the event store.

Writes load one aggregate, check the version the client last saw, call one
command and save; keyed writes save an IdempotencyRecord in the same
transaction. Every write answers with the global position it committed at.
All methods are synchronous (the library's API is): callers on an event loop
must run them in a worker thread.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from service.domain.claim import Claim
from service.domain.errors import (
    AlreadyExistsError,
    ClaimNotFoundError,
    ConflictError,
    DomainError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    SourceNotFoundError,
    VersionConflictError,
)
from service.domain.idempotency import IdempotencyRecord
from service.domain.ids import claim_id_for, idempotency_id_for, source_id_for
from service.domain.recording import LedgerEvent, acting_as
from service.domain.source import Source
from service.domain.values import Document, LinkKind, Period, SourceKind, StanceKind
from service.persistence.positions import positions_of

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
    principal: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class RecordedEvent:
    """One stored event of a stream with its global position."""

    position: int | None
    event: LedgerEvent


class ClaimsLedger(Application[UUID]):
    name = "ClaimsLedger"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        new_id: Callable[[], UUID] = uuid4,
    ) -> None:
        super().__init__(env)
        self._new_id = new_id

    # ---- sources ------------------------------------------------------

    def register_source(
        self,
        actor: Actor,
        *,
        key: str | None,
        name: str,
        kind: SourceKind,
        anonymous: bool,
        descriptor: str | None = None,
        affiliation_id: UUID | None = None,
    ) -> WriteResult:
        source_id = source_id_for(key) if key else self._new_id()

        def build() -> tuple[Aggregate, UUID | None]:
            if source_id in self.repository:
                raise AlreadyExistsError("a source with this key exists", key=key)
            if affiliation_id is not None:
                self.get_source(affiliation_id)
            return (
                Source.register(
                    id=source_id,
                    key=key,
                    name=name,
                    kind=kind,
                    anonymous=anonymous,
                    descriptor=descriptor,
                    affiliation_id=affiliation_id,
                ),
                None,
            )

        payload = [key, name, kind, anonymous, descriptor, affiliation_id]
        return self._write(actor, "register_source", payload, build, created=True)

    def amend_source(
        self,
        actor: Actor,
        source_id: UUID,
        *,
        expected_version: int,
        changes: dict[str, Any],
        reason: str,
    ) -> WriteResult:
        def build() -> tuple[Aggregate, UUID | None]:
            source = self._expect(self.get_source(source_id), expected_version)
            if changes.get("affiliation_id") is not None:
                self.get_source(UUID(str(changes["affiliation_id"])))
                changes["affiliation_id"] = str(changes["affiliation_id"])
            source.amend(dict(changes), reason)
            return source, None

        payload = [source_id, expected_version, changes, reason]
        return self._write(actor, "amend_source", payload, build)

    # ---- claims -------------------------------------------------------

    def propose_claim(
        self,
        actor: Actor,
        *,
        key: str | None,
        text: str,
        about: list[str],
        occurred: Period,
    ) -> WriteResult:
        claim_id = claim_id_for(key) if key else self._new_id()

        def build() -> tuple[Aggregate, UUID | None]:
            if claim_id in self.repository:
                raise AlreadyExistsError("a claim with this key exists", key=key)
            claim = Claim.propose(
                id=claim_id, key=key, text=text, about=about, occurred=occurred
            )
            return claim, None

        payload = [key, text, about, occurred.to_dict()]
        return self._write(actor, "propose_claim", payload, build, created=True)

    def record_stance(
        self,
        actor: Actor,
        claim_id: UUID,
        *,
        expected_version: int,
        kind: StanceKind,
        chain: list[UUID],
        reported: Period,
        quote: str | None = None,
        document: Document | None = None,
        independent: bool = False,
        note: str | None = None,
        stance_id: UUID | None = None,
    ) -> WriteResult:
        """Every source in the chain must be registered before it is cited."""
        new_stance_id = stance_id or self._new_id()

        def change(claim: Claim) -> UUID:
            for source_id in chain:
                self.get_source(source_id)
            claim.record_stance(
                stance_id=new_stance_id,
                kind=kind,
                chain=chain,
                quote=quote,
                document=document,
                reported=reported,
                independent=independent,
                note=note,
            )
            return new_stance_id

        document_data = document.to_dict() if document else None
        payload = [kind, chain, reported.to_dict(), quote, document_data, independent]
        return self._change_claim(
            actor,
            "record_stance",
            claim_id,
            expected_version,
            [*payload, note, stance_id],
            change,
        )

    def retract_stance(
        self,
        actor: Actor,
        claim_id: UUID,
        *,
        expected_version: int,
        stance_id: UUID,
        reason: str,
        reported: Period,
    ) -> WriteResult:
        return self._change_claim(
            actor,
            "retract_stance",
            claim_id,
            expected_version,
            [stance_id, reason, reported.to_dict()],
            lambda claim: claim.retract_stance(
                stance_id, reason=reason, reported=reported
            ),
        )

    def correct_stance(
        self,
        actor: Actor,
        claim_id: UUID,
        *,
        expected_version: int,
        stance_id: UUID,
        changes: dict[str, Any],
        reason: str,
        reported: Period,
    ) -> WriteResult:
        return self._change_claim(
            actor,
            "correct_stance",
            claim_id,
            expected_version,
            [stance_id, changes, reason, reported.to_dict()],
            lambda claim: claim.correct_stance(
                stance_id, changes=changes, reason=reason, reported=reported
            ),
        )

    def amend_stance(
        self,
        actor: Actor,
        claim_id: UUID,
        *,
        expected_version: int,
        stance_id: UUID,
        changes: dict[str, Any],
        reason: str,
    ) -> WriteResult:
        def change(claim: Claim) -> None:
            for source_id in changes.get("chain", []):
                self.get_source(UUID(str(source_id)))
            claim.amend_stance(stance_id, changes=changes, reason=reason)

        return self._change_claim(
            actor,
            "amend_stance",
            claim_id,
            expected_version,
            [stance_id, changes, reason],
            change,
        )

    def correct_wording(
        self,
        actor: Actor,
        claim_id: UUID,
        *,
        expected_version: int,
        text: str,
        reason: str,
    ) -> WriteResult:
        return self._change_claim(
            actor,
            "correct_wording",
            claim_id,
            expected_version,
            [text, reason],
            lambda claim: claim.correct_wording(text, reason=reason),
        )

    def amend_claim(
        self,
        actor: Actor,
        claim_id: UUID,
        *,
        expected_version: int,
        changes: dict[str, Any],
        reason: str,
    ) -> WriteResult:
        return self._change_claim(
            actor,
            "amend_claim",
            claim_id,
            expected_version,
            [changes, reason],
            lambda claim: claim.amend(changes, reason=reason),
        )

    def link_claims(
        self,
        actor: Actor,
        claim_id: UUID,
        *,
        expected_version: int,
        target_id: UUID,
        kind: LinkKind,
        note: str | None = None,
        link_id: UUID | None = None,
    ) -> WriteResult:
        new_link_id = link_id or self._new_id()

        def change(claim: Claim) -> UUID:
            self.get_claim(target_id)
            claim.link_to(
                link_id=new_link_id, target_id=target_id, kind=kind, note=note
            )
            return new_link_id

        return self._change_claim(
            actor,
            "link_claims",
            claim_id,
            expected_version,
            [target_id, kind, note, link_id],
            change,
        )

    def withdraw_link(
        self,
        actor: Actor,
        claim_id: UUID,
        *,
        expected_version: int,
        link_id: UUID,
        reason: str,
    ) -> WriteResult:
        return self._change_claim(
            actor,
            "withdraw_link",
            claim_id,
            expected_version,
            [link_id, reason],
            lambda claim: claim.withdraw_link(link_id, reason=reason),
        )

    # ---- reads --------------------------------------------------------

    def get_claim(self, claim_id: UUID, version: int | None = None) -> Claim:
        return self._get(claim_id, Claim, ClaimNotFoundError, version)

    def get_source(self, source_id: UUID, version: int | None = None) -> Source:
        return self._get(source_id, Source, SourceNotFoundError, version)

    def stream(self, aggregate_id: UUID) -> list[RecordedEvent]:
        """Every event of one stream, oldest first, with global positions."""
        events = [
            e for e in self.events.get(aggregate_id) if isinstance(e, LedgerEvent)
        ]
        positions = positions_of(self.recorder, aggregate_id)
        return [RecordedEvent(positions.get(e.originator_version), e) for e in events]

    def claim_as_recorded(
        self, claim_id: UUID, *, version: int | None = None, at: datetime | None = None
    ) -> Claim | None:
        """The claim as the ledger held it at a version, or at a recorded time
        (None if it had not been recorded yet)."""
        aggregate: Claim | None = None
        for recorded in self.stream(claim_id):
            event = recorded.event
            if version is not None and event.originator_version > version:
                break
            if at is not None and event.timestamp > at:
                break
            aggregate = event.mutate(aggregate)
        if aggregate is None and version is None and at is None:
            raise ClaimNotFoundError("no such claim", claim_id=str(claim_id))
        return aggregate

    def source_as_recorded(self, source_id: UUID, at: datetime) -> Source | None:
        aggregate: Source | None = None
        for event in self.events.get(source_id):
            if not isinstance(event, LedgerEvent) or event.timestamp > at:
                break
            aggregate = event.mutate(aggregate)
        return aggregate

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
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise missing("no such id", id=str(aggregate_id)) from None
        if not isinstance(aggregate, cls):
            raise missing("no such id", id=str(aggregate_id))
        return aggregate

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
        command: str,
        claim_id: UUID,
        expected_version: int,
        payload: list[Any],
        change: Callable[[Claim], UUID | None],
    ) -> WriteResult:
        """Load the claim at the version the client saw and apply one change;
        ``change`` returns the id of what it created, if anything."""

        def build() -> tuple[Aggregate, UUID | None]:
            claim = self._expect(self.get_claim(claim_id), expected_version)
            return claim, change(claim)

        request = [claim_id, expected_version, *payload]
        return self._write(actor, command, request, build)

    def _write(
        self,
        actor: Actor,
        command: str,
        payload: list[Any],
        build: Callable[[], tuple[Aggregate, UUID | None]],
        *,
        created: bool = False,
    ) -> WriteResult:
        """Build the change and save it (with the key's record, if keyed).

        A keyed write that loses a race to an identical one (the same key and
        request) answers with the winner's result instead of an error.
        """
        key = actor.idempotency_key
        if key is not None and not key.strip():
            raise InvalidInputError("an idempotency key cannot be blank")
        request = json.dumps([command, payload], sort_keys=True, default=str)
        fingerprint = hashlib.sha256(request.encode()).hexdigest()
        replay = self._replay(actor, fingerprint)
        if replay is not None:
            return replay
        with acting_as(actor.principal, key):
            try:
                aggregate, created_id = build()
                pending: list[Aggregate] = [aggregate]
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
        return WriteResult(
            aggregate_id=aggregate.id,
            version=aggregate.version,
            position=recordings[-1].notification.id,
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
            position=positions_of(self.recorder, record_id)[1],
            replayed=True,
            created_id=UUID(record.created_id) if record.created_id else None,
        )
