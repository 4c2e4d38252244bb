"""Loads seeds/ (sources, claims, stances, links as data) into the ledger.

Every seeded item has a natural key and so a deterministic id; an item already
in the ledger is left alone, which makes loading idempotent: a second load
records nothing. Seeds are facts from a document, so the loader records them as
the 'seed-loader' principal, never as a user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.application import Actor, ClaimsLedger
from service.application.commands import (
    LinkClaims,
    ProposeClaim,
    RecordStance,
    RegisterSource,
)
from service.domain.errors import InvalidInputError
from service.domain.ids import claim_id_for, link_id_for, source_id_for, stance_id_for
from service.domain.source import SourceProfile
from service.domain.values import Document, LinkKind, Period, SourceKind, StanceKind
from service.settings import DEFAULT_SEEDS_DIR

SEED_ACTOR = Actor(principal="seed-loader")


@dataclass(frozen=True)
class SeedReport:
    recorded: int
    position: int


def load_seeds(ledger: ClaimsLedger, seeds_dir: Path = DEFAULT_SEEDS_DIR) -> SeedReport:
    sources = json.loads((seeds_dir / "sources.json").read_text())["sources"]
    data = json.loads((seeds_dir / "claims.json").read_text())
    documents: dict[str, Any] = data["documents"]
    periods: dict[str, Any] = data["periods"]
    recorded = 0

    for item in sources:
        source_id = source_id_for(item["key"])
        if source_id in ledger.repository:
            continue
        affiliation = item.get("affiliation")
        profile = SourceProfile(
            name=item["name"],
            kind=SourceKind(item["kind"]),
            anonymous=item["anonymous"],
            descriptor=item.get("descriptor"),
            affiliation_id=source_id_for(affiliation) if affiliation else None,
        )
        ledger.register_source(
            SEED_ACTOR, RegisterSource(profile=profile, key=item["key"])
        )
        recorded += 1

    def period(ref: str | dict[str, Any]) -> Period:
        if isinstance(ref, dict):
            return Period.from_dict(ref)
        if ref not in periods:
            raise InvalidInputError(f"seed names unknown period {ref!r}")
        return Period.from_dict(periods[ref])

    for item in data["claims"]:
        claim_id = claim_id_for(item["key"])
        if claim_id not in ledger.repository:
            command = ProposeClaim(
                key=item["key"],
                text=item["text"],
                about=tuple(item["about"]),
                occurred=period(item["occurred"]),
            )
            ledger.propose_claim(SEED_ACTOR, command)
            recorded += 1
        for stance in item["stances"]:
            stance_id = stance_id_for(claim_id, stance["key"])
            claim = ledger.get_claim(claim_id)
            if str(stance_id) in claim.stances:
                continue
            record = RecordStance(
                claim_id=claim_id,
                expected_version=claim.version,
                stance_id=stance_id,
                kind=StanceKind(stance["kind"]),
                chain=tuple(source_id_for(k) for k in stance["chain"]),
                quote=stance.get("quote"),
                document=Document.from_dict(documents[stance["document"]]),
                reported=period(stance["reported"]),
                independent=stance.get("independent", False),
                note=stance.get("note"),
            )
            ledger.record_stance(SEED_ACTOR, record)
            recorded += 1

    for item in data["claims"]:
        claim_id = claim_id_for(item["key"])
        for link in item["links"]:
            link_id = link_id_for(claim_id, link["key"])
            claim = ledger.get_claim(claim_id)
            if str(link_id) in claim.links:
                continue
            link_command = LinkClaims(
                claim_id=claim_id,
                expected_version=claim.version,
                link_id=link_id,
                target_id=claim_id_for(link["target"]),
                kind=LinkKind(link["kind"]),
                note=link.get("note"),
            )
            ledger.link_claims(SEED_ACTOR, link_command)
            recorded += 1
    return SeedReport(recorded=recorded, position=ledger.last_position())
