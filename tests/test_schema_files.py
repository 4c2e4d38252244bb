"""schema/ is what the code defines, and stored events match their schemas."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from service.api.schema import schema
from service.application import Actor, ClaimsLedger
from service.application.commands import (
    AmendClaim,
    AmendSource,
    AmendStance,
    CorrectStance,
    CorrectWording,
    LinkClaims,
    ProposeClaim,
    RecordStance,
    RetractStance,
    WithdrawLink,
)
from service.domain import errors
from service.domain.claim import ClaimChanges, StanceChanges
from service.domain.ids import claim_id_for, source_id_for
from service.domain.source import SourceChanges
from service.domain.values import LinkKind, Period, StanceKind
from service.export import event_classes, event_type_name, rendered_files
from service.feed.entries import event_data
from service.history import ENVELOPE

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"


def test_schema_graphql_matches_the_code() -> None:
    checked_in = (SCHEMA_DIR / "schema.graphql").read_text()
    assert checked_in == schema.as_str() + "\n", (
        "schema/schema.graphql is stale: run `claims-ledger export-schema`"
    )


def test_every_event_schema_file_matches_the_code() -> None:
    expected = rendered_files()
    on_disk = {
        str(p.relative_to(SCHEMA_DIR)): p.read_text()
        for p in SCHEMA_DIR.rglob("*")
        if p.is_file()
    }
    assert on_disk == expected, "schema/ is stale: run `claims-ledger export-schema`"


def exercise_every_event_type(ledger: ClaimsLedger) -> None:
    """After the seeds: one write of every kind the seeds do not make."""
    alice = Actor("alice", idempotency_key="schema-check")
    wsj, ryder = source_id_for("wsj"), source_id_for("patrick-ryder")
    ledger.amend_source(
        Actor("alice"),
        AmendSource(
            source_id=ryder,
            expected_version=1,
            changes=SourceChanges(descriptor="Pentagon press secretary"),
            reason="his title in the article",
        ),
    )
    ledger.amend_source(
        Actor("alice"),
        AmendSource(
            source_id=ryder,
            expected_version=2,
            changes=SourceChanges(affiliation_id=None),
            reason="speaks for himself here",
        ),
    )
    claim = ledger.propose_claim(
        alice, ProposeClaim(text="A claim to change.")
    ).aggregate_id
    other = claim_id_for("iran-directly-involved-in-attack")
    said = Period.day(date(2023, 11, 1))
    bob = Actor("bob")
    stance = ledger.record_stance(
        bob,
        RecordStance(
            claim_id=claim,
            expected_version=1,
            kind=StanceKind.AFFIRMS,
            chain=(wsj,),
            reported=said,
            quote="It happened.",
        ),
    ).created_id
    assert stance is not None
    ledger.correct_stance(
        bob,
        CorrectStance(
            claim_id=claim,
            expected_version=2,
            stance_id=stance,
            changes=StanceChanges(kind=StanceKind.QUALIFIES),
            reason="their correction",
            reported=said,
        ),
    )
    ledger.amend_stance(
        bob,
        AmendStance(
            claim_id=claim,
            expected_version=3,
            stance_id=stance,
            changes=StanceChanges(quote="It may have happened."),
            reason="mistyped",
        ),
    )
    ledger.retract_stance(
        bob,
        RetractStance(
            claim_id=claim,
            expected_version=4,
            stance_id=stance,
            reason="withdrawn",
            reported=said,
        ),
    )
    ledger.correct_wording(
        bob, CorrectWording(claim, 5, text="A changed claim.", reason="clearer")
    )
    ledger.amend_claim(
        bob,
        AmendClaim(claim, 6, changes=ClaimChanges(about=("Iran",)), reason="fix"),
    )
    link = ledger.link_claims(
        bob, LinkClaims(claim, 7, target_id=other, kind=LinkKind.REFINES)
    ).created_id
    assert link is not None
    ledger.withdraw_link(
        bob, WithdrawLink(claim, 8, link_id=link, reason="not a refinement")
    )


def test_every_stored_event_validates_against_its_schema(
    seeded: ClaimsLedger,
) -> None:
    exercise_every_event_type(seeded)
    seen = set()
    for notification in seeded.recorder.select_notifications(start=1, limit=10_000):
        event = seeded.mapper.to_domain_event(notification)
        name = event_type_name(type(event))
        file = SCHEMA_DIR / "events" / f"{name}.json"
        jsonschema.validate(
            event_data(event),
            json.loads(file.read_text()),
            format_checker=jsonschema.FormatChecker(),
        )
        seen.add(name)
    assert seen == {event_type_name(c) for c in event_classes()}


def test_event_schemas_reject_a_missing_actor(seeded: ClaimsLedger) -> None:
    (notification,) = seeded.recorder.select_notifications(start=1, limit=1)
    event = event_data(seeded.mapper.to_domain_event(notification))
    del event["actor"]
    file = SCHEMA_DIR / "events" / "Source.Registered.json"
    with pytest.raises(jsonschema.ValidationError, match="actor"):
        jsonschema.validate(event, json.loads(file.read_text()))


def test_every_domain_error_has_its_own_code() -> None:
    def subclasses(cls: type[errors.DomainError]) -> list[type[errors.DomainError]]:
        found = [cls]
        for sub in cls.__subclasses__():
            found += subclasses(sub)
        return found

    codes = [c.code for c in subclasses(errors.DomainError)]
    assert len(codes) == len(set(codes))
    assert all(code.isupper() for code in codes)


def test_history_envelope_names_every_metadata_field() -> None:
    assert {"actor", "idempotency_key", "timestamp", "originator_id"} <= ENVELOPE
