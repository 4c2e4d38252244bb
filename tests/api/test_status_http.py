"""The status rule's answers over HTTP, on both stores: anonymous voices that
nobody vouches for, and a log that already holds an affiliation cycle (written
before cycles were refused: events are never edited, so the rule must give
one answer for it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from service.application import Actor, ClaimsLedger
from service.application.commands import ProposeClaim, RecordStance, RegisterSource
from service.domain.ids import claim_id_for
from service.domain.source import SourceChanges, SourceProfile
from service.domain.values import Period, SourceKind, StanceKind
from service.seeding import load_seeds
from tests.conftest import Store
from tests.fakes import EDITOR_KEY, Server, gql, nodes

EDITOR = Actor("alice")
STATUS = """query($key: String!) { claim(key: $key) {
  version status { value independentAffirmingVoices { sourceId } } } }"""


def affirmed_by(ledger: ClaimsLedger, key: str, *origins: UUID) -> None:
    ledger.propose_claim(EDITOR, ProposeClaim(text=f"Claim {key}.", key=key))
    for version, origin in enumerate(origins, 1):
        ledger.record_stance(
            EDITOR,
            RecordStance(
                claim_id=claim_id_for(key),
                expected_version=version,
                kind=StanceKind.AFFIRMS,
                chain=(origin,),
                reported=Period.day(date(2023, 10, 27)),
            ),
        )


def register(ledger: ClaimsLedger, profile: SourceProfile) -> UUID:
    return ledger.register_source(EDITOR, RegisterSource(profile)).aggregate_id


Served = tuple[httpx.Client, dict[str, UUID]]


@pytest.fixture
def served(store: Store, tmp_path: Path) -> Iterator[Served]:
    """A store holding a legacy affiliation cycle and two unvouched voices,
    served by the real server."""
    ledger = store.open()
    load_seeds(ledger)
    outlet = SourceProfile(name="Cycle A", kind=SourceKind.GOVERNMENT_BODY)
    a = register(ledger, outlet)
    b = register(
        ledger,
        SourceProfile(name="Cycle B", kind=SourceKind.OFFICIAL, affiliation_id=a),
    )
    legacy = ledger.get_source(a)
    legacy.amend(SourceChanges(affiliation_id=b), "recorded before cycles were refused")
    ledger.save(legacy)  # past the use case's check, as an old log would hold it
    affirmed_by(ledger, "cycle-claim", a, b)
    anonymous = [
        register(
            ledger,
            SourceProfile(
                name=f"People {n}",
                kind=SourceKind.ANONYMOUS_GROUP,
                anonymous=True,
                descriptor=f"people familiar, group {n}",
            ),
        )
        for n in (1, 2)
    ]
    affirmed_by(ledger, "unvouched-claim", *anonymous)
    ledger.close()
    env = (
        {"CLAIMS_DATABASE_URL": str(store.settings.database_url)}
        if store.backend == "postgres"
        else {}
    )
    db = Path(store.settings.db_path) if store.backend == "sqlite" else tmp_path / "x"
    server = Server(db=db, env=env).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield client, {"a": a, "b": b}
    finally:
        server.stop()


def status(client: httpx.Client, key: str) -> dict[str, Any]:
    claim: dict[str, Any] = gql(client, STATUS, {"key": key})["data"]["claim"]
    return claim


def test_a_legacy_affiliation_cycle_is_one_voice_with_one_top(
    served: Served,
) -> None:
    client, ids = served
    claim = status(client, "cycle-claim")
    assert claim["status"]["value"] == "SINGLE_SOURCE"
    voices = claim["status"]["independentAffirmingVoices"]
    assert voices == [{"sourceId": str(min(ids["a"], ids["b"], key=str))}]


def test_two_anonymous_voices_nobody_vouches_for_are_one_until_marked_independent(
    served: Served,
) -> None:
    client, _ = served
    claim = status(client, "unvouched-claim")
    assert claim["status"]["value"] == "SINGLE_SOURCE"
    stances = nodes(
        gql(
            client,
            'query { claim(key: "unvouched-claim") '
            "{ stances { edges { node { stanceId } } } } }",
        )["data"]["claim"]["stances"]
    )
    amended = gql(
        client,
        """mutation($input: AmendStanceInput!) { amendStance(input: $input) {
          claim { status { value } } } }""",
        {
            "input": {
                "claimId": gql(
                    client, 'query { claim(key: "unvouched-claim") { id } }'
                )["data"]["claim"]["id"],
                "expectedVersion": claim["version"],
                "stanceId": stances[1]["stanceId"],
                "independent": True,
                "reason": "the article says they are separate groups",
            }
        },
        EDITOR_KEY,
    )
    status_after = amended["data"]["amendStance"]["claim"]["status"]["value"]
    assert status_after == "CORROBORATED"
