"""Claim: a proposition and everything sources have said about it.

Every change is its own past-tense event. Guards (``check_…``) run before an
event is triggered; event bodies only set state, so they replay unchanged.
Sources' own corrections and retractions carry the reported time at which they
were made public; our data-entry fixes (``…Amended``) carry only a reason and
live on the recorded-time clock alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from service.domain.errors import (
    AlreadyExistsError,
    InvalidInputError,
    LinkNotFoundError,
    NothingToChangeError,
    SelfLinkError,
    StanceAlreadyRetractedError,
    StanceNotFoundError,
)
from service.domain.limits import (
    CLAIM_TEXT,
    DOCUMENT_PUBLISHER,
    DOCUMENT_TITLE,
    DOCUMENT_URL,
    ENTITY,
    MAX_CHAIN,
    MAX_ENTITIES,
    NOTE,
    QUOTE,
    REASON,
    check_count,
)
from service.domain.recording import LedgerEvent
from service.domain.values import (
    KEEP,
    Document,
    Keep,
    LinkKind,
    Period,
    StanceKind,
)

REVISABLE_STANCE_FIELDS = ("kind", "quote", "document", "note")


@dataclass
class StanceRevision:
    """What a source said, as of one statement (the first, or a correction)."""

    kind: StanceKind
    quote: str | None
    document: Document | None
    note: str | None
    reported: Period


@dataclass
class Retraction:
    reason: str
    reported: Period


@dataclass
class StanceRecord:
    stance_id: str
    chain: tuple[str, ...]
    independent: bool
    revisions: list[StanceRevision]
    retraction: Retraction | None = None


@dataclass(frozen=True)
class StanceState:
    """A stance as it stood at some point of reported time."""

    stance_id: str
    chain: tuple[str, ...]
    independent: bool
    kind: StanceKind
    quote: str | None
    document: Document | None
    note: str | None
    reported: Period
    revised: Period | None
    retraction: Retraction | None

    @property
    def origin_id(self) -> str:
        return self.chain[0]

    @property
    def in_force(self) -> bool:
        return self.retraction is None


@dataclass
class Link:
    link_id: str
    target_id: str
    kind: LinkKind
    note: str | None
    withdrawn: str | None = None


@dataclass(frozen=True)
class ReportedBasis:
    """A point of reported time: 'what had been said publicly by ``day``'.

    With ``certain`` a statement counts only if it is known to have been made by
    then; otherwise also if it may have been (its earliest bound is by then)."""

    day: date
    certain: bool = True

    def admits(self, period: Period) -> bool:
        return (
            period.certainly_by(self.day)
            if self.certain
            else period.possibly_by(self.day)
        )


def check_chain(chain: Sequence[UUID]) -> tuple[UUID, ...]:
    """From the origin to the teller: at least the origin, each source once."""
    hops = tuple(chain)
    if not hops:
        raise InvalidInputError("a stance needs at least its origin", field="chain")
    check_count(hops, "chain", MAX_CHAIN)
    if len(set(hops)) != len(hops):
        raise InvalidInputError("a source appears twice in the chain", field="chain")
    return hops


def check_entities(about: Sequence[str]) -> list[str]:
    """What a claim is about: distinct entity names, in the order given."""
    entities = tuple(ENTITY.clean(e) for e in about)
    check_count(entities, "about", MAX_ENTITIES)
    return list(dict.fromkeys(entities))


def check_document(document: Document | None) -> Document | None:
    """Where a statement was read; its texts follow the one text rule."""
    if document is None:
        return None
    return Document(
        title=DOCUMENT_TITLE.clean_optional(document.title),
        url=DOCUMENT_URL.clean_optional(document.url),
        publisher=DOCUMENT_PUBLISHER.clean_optional(document.publisher),
        published=document.published,
    )


@dataclass(frozen=True)
class StanceChanges:
    """The fields of a stance a correction or amend sets; KEEP leaves one as
    it is. Checked when built, by the same rules as a new stance."""

    kind: StanceKind | Keep = KEEP
    quote: str | Keep | None = KEEP
    document: Document | Keep | None = KEEP
    note: str | Keep | None = KEEP
    chain: tuple[UUID, ...] | Keep = KEEP
    reported: Period | Keep = KEEP
    independent: bool | Keep = KEEP

    def __post_init__(self) -> None:
        if isinstance(self.quote, str):
            object.__setattr__(self, "quote", QUOTE.clean(self.quote))
        if isinstance(self.note, str):
            object.__setattr__(self, "note", NOTE.clean(self.note))
        if isinstance(self.chain, tuple):
            object.__setattr__(self, "chain", check_chain(self.chain))
        if isinstance(self.document, Document):
            object.__setattr__(self, "document", check_document(self.document))

    def given(self) -> set[str]:
        return {name for name, value in vars(self).items() if value is not KEEP}

    def to_event_data(self) -> dict[str, Any]:
        """The given fields, JSON-ready, as events store them."""
        data: dict[str, Any] = {}
        for name, value in vars(self).items():
            if value is KEEP:
                continue
            if isinstance(value, StanceKind):
                data[name] = value.value
            elif isinstance(value, Document | Period):
                data[name] = value.to_dict()
            elif name == "chain":
                data[name] = [str(s) for s in value]
            else:
                data[name] = value
        return data


@dataclass(frozen=True)
class ClaimChanges:
    """Our fix to what a claim is about or when it happened; KEEP leaves one."""

    about: tuple[str, ...] | Keep = KEEP
    occurred: Period | Keep = KEEP

    def __post_init__(self) -> None:
        if isinstance(self.about, tuple):
            object.__setattr__(self, "about", tuple(check_entities(self.about)))

    def to_event_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if isinstance(self.about, tuple):
            data["about"] = list(self.about)
        if isinstance(self.occurred, Period):
            data["occurred"] = self.occurred.to_dict()
        return data


class Claim(Aggregate):
    class Event(LedgerEvent):
        pass

    # ---- creation -------------------------------------------------------

    class Proposed(Event, Aggregate.Created):
        key: str | None
        text: str
        about: list[str]
        occurred: dict[str, Any]

    @event(Proposed)
    def __init__(
        self,
        *,
        id: UUID,
        key: str | None,
        text: str,
        about: list[str],
        occurred: dict[str, Any],
    ) -> None:
        self._id = id
        self.key = key
        self.text = text
        self.about = list(about)
        self.occurred = Period.from_dict(occurred)
        self.stances: dict[str, StanceRecord] = {}
        self.links: dict[str, Link] = {}

    @classmethod
    def propose(
        cls,
        *,
        id: UUID,
        key: str | None,
        text: str,
        about: Sequence[str],
        occurred: Period,
    ) -> Claim:
        """A claim is a proposition, independent of who holds it."""
        return cls(
            id=id,
            key=key,
            text=CLAIM_TEXT.clean(text),
            about=check_entities(about),
            occurred=occurred.to_dict(),
        )

    # ---- stances --------------------------------------------------------

    class StanceRecorded(Event):
        stance_id: str
        kind: str
        chain: list[str]
        quote: str | None
        document: dict[str, Any] | None
        reported: dict[str, Any]
        independent: bool
        note: str | None

    def record_stance(
        self,
        *,
        stance_id: UUID,
        kind: StanceKind,
        chain: Sequence[UUID],
        quote: str | None,
        document: Document | None,
        reported: Period,
        independent: bool,
        note: str | None,
    ) -> None:
        """The chain runs from the origin (who first said it) to the teller we
        read it from; an origin alone is a chain of one."""
        hops = check_chain(chain)
        if str(stance_id) in self.stances:
            raise AlreadyExistsError("this stance is already recorded")
        self._record_stance(
            stance_id=str(stance_id),
            kind=kind.value,
            chain=[str(s) for s in hops],
            quote=QUOTE.clean_optional(quote),
            document=document.to_dict()
            if (document := check_document(document))
            else None,
            reported=reported.to_dict(),
            independent=independent,
            note=NOTE.clean_optional(note),
        )

    @event(StanceRecorded)
    def _record_stance(
        self,
        stance_id: str,
        kind: str,
        chain: list[str],
        quote: str | None,
        document: dict[str, Any] | None,
        reported: dict[str, Any],
        independent: bool,
        note: str | None,
    ) -> None:
        self.stances[stance_id] = StanceRecord(
            stance_id=stance_id,
            chain=tuple(chain),
            independent=independent,
            revisions=[
                StanceRevision(
                    kind=StanceKind(kind),
                    quote=quote,
                    document=Document.from_dict(document),
                    note=note,
                    reported=Period.from_dict(reported),
                )
            ],
        )

    def check_stance_in_force(self, stance_id: UUID) -> StanceRecord:
        record = self.check_stance_exists(stance_id)
        if record.retraction is not None:
            raise StanceAlreadyRetractedError(
                "the stance is already retracted", stance_id=str(stance_id)
            )
        return record

    def check_stance_exists(self, stance_id: UUID) -> StanceRecord:
        record = self.stances.get(str(stance_id))
        if record is None:
            raise StanceNotFoundError(
                "no such stance on this claim", stance_id=str(stance_id)
            )
        return record

    class StanceRetracted(Event):
        """The source itself withdrew what it said."""

        stance_id: str
        reason: str
        reported: dict[str, Any]

    def retract_stance(self, stance_id: UUID, *, reason: str, reported: Period) -> None:
        self.check_stance_in_force(stance_id)
        self._retract_stance(
            stance_id=str(stance_id),
            reason=REASON.clean(reason),
            reported=reported.to_dict(),
        )

    @event(StanceRetracted)
    def _retract_stance(
        self, stance_id: str, reason: str, reported: dict[str, Any]
    ) -> None:
        self.stances[stance_id].retraction = Retraction(
            reason=reason, reported=Period.from_dict(reported)
        )

    class StanceCorrected(Event):
        """The source published a correction of what it said."""

        stance_id: str
        changes: dict[str, Any]
        reason: str
        reported: dict[str, Any]

    def correct_stance(
        self,
        stance_id: UUID,
        *,
        changes: StanceChanges,
        reason: str,
        reported: Period,
    ) -> None:
        """A source's own correction changes what it said, never who said it
        or when it first said it (those are our amends)."""
        record = self.check_stance_in_force(stance_id)
        reason = REASON.clean(reason)
        unknown = changes.given() - set(REVISABLE_STANCE_FIELDS)
        if unknown:
            raise InvalidInputError(f"a source cannot correct {sorted(unknown)}")
        real = self._real_changes(record, changes.to_event_data())
        self._correct_stance(
            stance_id=str(stance_id),
            changes=real,
            reason=reason,
            reported=reported.to_dict(),
        )

    @event(StanceCorrected)
    def _correct_stance(
        self,
        stance_id: str,
        changes: dict[str, Any],
        reason: str,
        reported: dict[str, Any],
    ) -> None:
        record = self.stances[stance_id]
        latest = record.revisions[-1]
        record.revisions.append(
            StanceRevision(
                kind=StanceKind(changes.get("kind", latest.kind)),
                quote=changes.get("quote", latest.quote),
                document=(
                    Document.from_dict(changes["document"])
                    if "document" in changes
                    else latest.document
                ),
                note=changes.get("note", latest.note),
                reported=Period.from_dict(reported),
            )
        )

    class StanceAmended(Event):
        """Our own data-entry fix to how a stance was recorded (latest revision)."""

        stance_id: str
        changes: dict[str, Any]
        reason: str

    def amend_stance(
        self, stance_id: UUID, *, changes: StanceChanges, reason: str
    ) -> None:
        record = self.check_stance_exists(stance_id)
        reason = REASON.clean(reason)
        real = self._real_changes(record, changes.to_event_data())
        self._amend_stance(stance_id=str(stance_id), changes=real, reason=reason)

    @event(StanceAmended)
    def _amend_stance(
        self, stance_id: str, changes: dict[str, Any], reason: str
    ) -> None:
        record = self.stances[stance_id]
        latest = record.revisions[-1]
        for name, value in changes.items():
            if name == "chain":
                record.chain = tuple(value)
            elif name == "independent":
                record.independent = bool(value)
            elif name == "kind":
                latest.kind = StanceKind(value)
            elif name == "document":
                latest.document = Document.from_dict(value)
            elif name == "reported":
                latest.reported = Period.from_dict(value)
            else:
                setattr(latest, name, value)

    @staticmethod
    def _real_changes(record: StanceRecord, data: dict[str, Any]) -> dict[str, Any]:
        latest = record.revisions[-1]
        current: dict[str, Any] = {
            "kind": latest.kind.value,
            "quote": latest.quote,
            "document": latest.document.to_dict() if latest.document else None,
            "note": latest.note,
            "reported": latest.reported.to_dict(),
            "chain": list(record.chain),
            "independent": record.independent,
        }
        real = {k: v for k, v in data.items() if current[k] != v}
        if not real:
            raise NothingToChangeError("the change would record nothing new")
        return real

    # ---- the claim itself ---------------------------------------------

    class WordingCorrected(Event):
        text: str
        reason: str

    def correct_wording(self, text: str, *, reason: str) -> None:
        reason = REASON.clean(reason)
        wording = CLAIM_TEXT.clean(text)
        if wording == self.text:
            raise NothingToChangeError("the wording is unchanged")
        self._correct_wording(text=wording, reason=reason)

    @event(WordingCorrected)
    def _correct_wording(self, text: str, reason: str) -> None:
        self.text = text

    class Amended(Event):
        """Our own data-entry fix to what the claim is about or when it happened."""

        changes: dict[str, Any]
        reason: str

    def amend(self, changes: ClaimChanges, *, reason: str) -> None:
        reason = REASON.clean(reason)
        data = changes.to_event_data()
        current = {"about": self.about, "occurred": self.occurred.to_dict()}
        real = {k: v for k, v in data.items() if current[k] != v}
        if not real:
            raise NothingToChangeError("the fix changes nothing")
        self._amend(changes=real, reason=reason)

    @event(Amended)
    def _amend(self, changes: dict[str, Any], reason: str) -> None:
        if "about" in changes:
            self.about = list(changes["about"])
        if "occurred" in changes:
            self.occurred = Period.from_dict(changes["occurred"])

    # ---- links ----------------------------------------------------------

    class Linked(Event):
        link_id: str
        target_id: str
        kind: str
        note: str | None

    def link_to(
        self, *, link_id: UUID, target_id: UUID, kind: LinkKind, note: str | None
    ) -> None:
        if target_id == self.id:
            raise SelfLinkError("a claim cannot be linked to itself")
        if str(link_id) in self.links:
            raise AlreadyExistsError("this link is already recorded")
        for link in self.links.values():
            if (
                link.withdrawn is None
                and link.target_id == str(target_id)
                and link.kind is kind
            ):
                raise AlreadyExistsError(
                    "the claims are already linked this way", link_id=link.link_id
                )
        self._link(
            link_id=str(link_id),
            target_id=str(target_id),
            kind=kind.value,
            note=NOTE.clean_optional(note),
        )

    @event(Linked)
    def _link(self, link_id: str, target_id: str, kind: str, note: str | None) -> None:
        self.links[link_id] = Link(
            link_id=link_id, target_id=target_id, kind=LinkKind(kind), note=note
        )

    class LinkWithdrawn(Event):
        link_id: str
        reason: str

    def withdraw_link(self, link_id: UUID, *, reason: str) -> None:
        reason = REASON.clean(reason)
        link = self.links.get(str(link_id))
        if link is None or link.withdrawn is not None:
            raise LinkNotFoundError("no such link in force", link_id=str(link_id))
        self._withdraw_link(link_id=str(link_id), reason=reason)

    @event(LinkWithdrawn)
    def _withdraw_link(self, link_id: str, reason: str) -> None:
        self.links[link_id].withdrawn = reason

    # ---- views ----------------------------------------------------------

    def stances_at(self, basis: ReportedBasis | None = None) -> list[StanceState]:
        """Stances as they stood at a point of reported time (all of them, in
        recorded order, when ``basis`` is None). Retracted ones are included
        with their retraction so readers can see what was withdrawn."""
        states = []
        for record in self.stances.values():
            said = [
                r for r in record.revisions if basis is None or basis.admits(r.reported)
            ]
            if not said or said[0] is not record.revisions[0]:
                continue
            retraction = record.retraction
            if retraction is not None and basis is not None:
                retraction = retraction if basis.admits(retraction.reported) else None
            latest = said[-1]
            states.append(
                StanceState(
                    stance_id=record.stance_id,
                    chain=record.chain,
                    independent=record.independent,
                    kind=latest.kind,
                    quote=latest.quote,
                    document=latest.document,
                    note=latest.note,
                    reported=record.revisions[0].reported,
                    revised=latest.reported if len(said) > 1 else None,
                    retraction=retraction,
                )
            )
        return states

    def active_links(self) -> list[Link]:
        return [link for link in self.links.values() if link.withdrawn is None]
