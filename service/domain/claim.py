"""Claim: a proposition and everything sources have said about it.

Every change is its own past-tense event. Guards (``check_…``) run before an
event is triggered; event bodies only set state, so they replay unchanged.
Sources' own corrections and retractions carry the reported time at which they
were made public; our data-entry fixes (``…Amended``) carry only a reason and
live on the recorded-time clock alone.
"""

from __future__ import annotations

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
from service.domain.recording import LedgerEvent
from service.domain.values import Document, LinkKind, Period, StanceKind

REVISABLE_STANCE_FIELDS = ("kind", "quote", "document", "note")
AMENDABLE_STANCE_FIELDS = (*REVISABLE_STANCE_FIELDS, "chain", "reported", "independent")
AMENDABLE_CLAIM_FIELDS = ("about", "occurred")


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


def _require_reason(reason: str) -> None:
    if not reason or not reason.strip():
        raise InvalidInputError("this change needs a reason", field="reason")


def _revision_dict(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if "kind" in out:
        try:
            out["kind"] = StanceKind(out["kind"]).value
        except ValueError:
            raise InvalidInputError("unknown stance kind", field="kind") from None
    if "document" in out and out["document"] is not None:
        doc = Document.from_dict(out["document"])
        out["document"] = doc.to_dict() if doc else None
    if "reported" in out:
        out["reported"] = Period.from_dict(out["reported"]).to_dict()
    if "quote" in out and out["quote"] is not None and not str(out["quote"]).strip():
        raise InvalidInputError("a quote cannot be blank", field="quote")
    return out


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
        about: list[str],
        occurred: Period,
    ) -> Claim:
        """A claim is a proposition, independent of who holds it."""
        if not text.strip():
            raise InvalidInputError("a claim needs its wording", field="text")
        entities = [e.strip() for e in about]
        if any(not e for e in entities):
            raise InvalidInputError("entity names cannot be blank", field="about")
        return cls(
            id=id,
            key=key,
            text=text.strip(),
            about=list(dict.fromkeys(entities)),
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
        chain: list[UUID],
        quote: str | None,
        document: Document | None,
        reported: Period,
        independent: bool,
        note: str | None,
    ) -> None:
        """The chain runs from the origin (who first said it) to the teller we
        read it from; an origin alone is a chain of one."""
        if not chain:
            raise InvalidInputError("a stance needs at least its origin", field="chain")
        if len(set(chain)) != len(chain):
            raise InvalidInputError(
                "a source appears twice in the chain", field="chain"
            )
        if str(stance_id) in self.stances:
            raise AlreadyExistsError("this stance is already recorded")
        if quote is not None and not quote.strip():
            raise InvalidInputError("a quote cannot be blank", field="quote")
        self._record_stance(
            stance_id=str(stance_id),
            kind=kind.value,
            chain=[str(s) for s in chain],
            quote=quote,
            document=document.to_dict() if document else None,
            reported=reported.to_dict(),
            independent=independent,
            note=note,
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
        _require_reason(reason)
        self._retract_stance(
            stance_id=str(stance_id), reason=reason, reported=reported.to_dict()
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
        changes: dict[str, Any],
        reason: str,
        reported: Period,
    ) -> None:
        record = self.check_stance_in_force(stance_id)
        _require_reason(reason)
        unknown = set(changes) - set(REVISABLE_STANCE_FIELDS)
        if unknown:
            raise InvalidInputError(f"a source cannot correct {sorted(unknown)}")
        real = self._real_changes(record, _revision_dict(changes))
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
        self, stance_id: UUID, *, changes: dict[str, Any], reason: str
    ) -> None:
        record = self.check_stance_exists(stance_id)
        _require_reason(reason)
        unknown = set(changes) - set(AMENDABLE_STANCE_FIELDS)
        if unknown:
            raise InvalidInputError(f"cannot amend {sorted(unknown)}")
        data = _revision_dict(changes)
        if "chain" in data:
            chain = [str(s) for s in data["chain"]]
            if not chain or len(set(chain)) != len(chain):
                raise InvalidInputError("a chain needs distinct sources", field="chain")
            data["chain"] = chain
        real = self._real_changes(record, data)
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
        _require_reason(reason)
        if not text.strip():
            raise InvalidInputError("a claim needs its wording", field="text")
        if text.strip() == self.text:
            raise NothingToChangeError("the wording is unchanged")
        self._correct_wording(text=text.strip(), reason=reason)

    @event(WordingCorrected)
    def _correct_wording(self, text: str, reason: str) -> None:
        self.text = text

    class Amended(Event):
        """Our own data-entry fix to what the claim is about or when it happened."""

        changes: dict[str, Any]
        reason: str

    def amend(self, changes: dict[str, Any], *, reason: str) -> None:
        _require_reason(reason)
        unknown = set(changes) - set(AMENDABLE_CLAIM_FIELDS)
        if unknown:
            raise InvalidInputError(f"cannot amend {sorted(unknown)}")
        data = dict(changes)
        if "occurred" in data:
            data["occurred"] = Period.from_dict(data["occurred"]).to_dict()
        if "about" in data:
            data["about"] = list(dict.fromkeys(e.strip() for e in data["about"]))
            if any(not e for e in data["about"]):
                raise InvalidInputError("entity names cannot be blank", field="about")
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
            link_id=str(link_id), target_id=str(target_id), kind=kind.value, note=note
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
        _require_reason(reason)
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
