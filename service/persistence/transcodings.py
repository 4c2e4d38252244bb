"""How the state of a claim or a source is written down whole: the library's
JSON transcoder knows the standard types only, and a snapshot of an aggregate
(the library's own, or a view row holding one) carries our value types.

Each transcoding rebuilds its type exactly, enums and tuples included, so a
claim read back from a snapshot equals the claim its events rebuild. (An
enum held directly by an aggregate is written as its string by the JSON
encoder, which never asks a transcoding about a str subclass: whoever reads
such a state back turns it into the enum again.)"""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from service.domain.claim import Link, Retraction, StanceRecord, StanceRevision
from service.domain.values import Document, LinkKind, Period, StanceKind


class DateAsISO(Transcoding):
    type = date
    name = "date"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class PeriodAsDict(Transcoding):
    type = Period
    name = "period"

    def encode(self, obj: Period) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> Period:
        return Period.from_dict(data)


class DocumentAsDict(Transcoding):
    type = Document
    name = "document"

    def encode(self, obj: Document) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> Document:
        found = Document.from_dict(data)
        assert found is not None  # noqa: S101 - encoded from a Document
        return found


class StanceRevisionAsDict(Transcoding):
    type = StanceRevision
    name = "stance_revision"

    def encode(self, obj: StanceRevision) -> dict[str, Any]:
        return {
            "kind": obj.kind.value,
            "quote": obj.quote,
            "document": obj.document,
            "note": obj.note,
            "reported": obj.reported,
        }

    def decode(self, data: dict[str, Any]) -> StanceRevision:
        return StanceRevision(
            kind=StanceKind(data["kind"]),
            quote=data["quote"],
            document=data["document"],
            note=data["note"],
            reported=data["reported"],
        )


class RetractionAsDict(Transcoding):
    type = Retraction
    name = "retraction"

    def encode(self, obj: Retraction) -> dict[str, Any]:
        return {"reason": obj.reason, "reported": obj.reported}

    def decode(self, data: dict[str, Any]) -> Retraction:
        return Retraction(reason=data["reason"], reported=data["reported"])


class StanceRecordAsDict(Transcoding):
    type = StanceRecord
    name = "stance_record"

    def encode(self, obj: StanceRecord) -> dict[str, Any]:
        return {
            "stance_id": obj.stance_id,
            "chain": list(obj.chain),
            "independent": obj.independent,
            "revisions": obj.revisions,
            "retraction": obj.retraction,
        }

    def decode(self, data: dict[str, Any]) -> StanceRecord:
        return StanceRecord(
            stance_id=data["stance_id"],
            chain=tuple(data["chain"]),
            independent=data["independent"],
            revisions=data["revisions"],
            retraction=data["retraction"],
        )


class LinkAsDict(Transcoding):
    type = Link
    name = "link"

    def encode(self, obj: Link) -> dict[str, Any]:
        return {
            "link_id": obj.link_id,
            "target_id": obj.target_id,
            "kind": obj.kind.value,
            "note": obj.note,
            "withdrawn": obj.withdrawn,
        }

    def decode(self, data: dict[str, Any]) -> Link:
        return Link(
            link_id=data["link_id"],
            target_id=data["target_id"],
            kind=LinkKind(data["kind"]),
            note=data["note"],
            withdrawn=data["withdrawn"],
        )


def register_state_transcodings(transcoder: JSONTranscoder) -> None:
    """Teach a transcoder every value type a claim's or a source's state holds."""
    for transcoding in (
        DateAsISO(),
        PeriodAsDict(),
        DocumentAsDict(),
        StanceRevisionAsDict(),
        RetractionAsDict(),
        StanceRecordAsDict(),
        LinkAsDict(),
    ):
        transcoder.register(transcoding)
