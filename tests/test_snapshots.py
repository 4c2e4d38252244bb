"""A long claim is snapshotted every SNAPSHOT_EVERY versions; loading any
version, or reading at a recorded time, gives what replaying its events
gives."""

from __future__ import annotations

import json
import zlib
from uuid import UUID

from service.application import Actor, ClaimsLedger
from service.application.commands import CorrectWording, ProposeClaim
from service.application.ledger import SNAPSHOT_EVERY
from service.domain.claim import Claim
from service.readings import Basis, Reader
from tests.fakes import SteppingClock

EDITOR = Actor("editor")
EVENTS = 2 * SNAPSHOT_EVERY + 50


def long_claim(ledger: ClaimsLedger) -> UUID:
    written = ledger.propose_claim(EDITOR, ProposeClaim(text="Wording 1"))
    claim_id = written.aggregate_id
    for version in range(1, EVENTS):
        ledger.correct_wording(
            EDITOR,
            CorrectWording(claim_id, version, f"Wording {version + 1}", "a test"),
        )
    return claim_id


def replayed(ledger: ClaimsLedger, claim_id: UUID, version: int) -> Claim:
    claim = None
    for event in ledger.events.get(claim_id, lte=version):
        assert isinstance(event, Claim.Event)
        claim = event.mutate(claim)
    assert isinstance(claim, Claim)
    return claim


def test_a_long_claim_is_snapshotted_and_loads_alike_at_every_version(
    ledger: ClaimsLedger,
) -> None:
    claim_id = long_claim(ledger)
    assert ledger.snapshots is not None
    taken = [s.originator_version for s in ledger.snapshots.get(claim_id)]
    assert taken == [SNAPSHOT_EVERY, 2 * SNAPSHOT_EVERY]
    for version in (1, SNAPSHOT_EVERY - 1, SNAPSHOT_EVERY, SNAPSHOT_EVERY + 1, EVENTS):
        loaded = ledger.get_claim(claim_id, version)
        assert vars(loaded) == vars(replayed(ledger, claim_id, version))
        assert loaded.text == f"Wording {version}"


def test_a_reading_at_a_recorded_time_finds_its_version(
    ledger: ClaimsLedger, reader: Reader, clock: SteppingClock
) -> None:
    claim_id = long_claim(ledger)
    middle = replayed(ledger, claim_id, SNAPSHOT_EVERY + 7)
    reading = reader.claim(claim_id, Basis(recorded_at=middle.modified_on))
    assert reading is not None
    assert reading.claim.version == SNAPSHOT_EVERY + 7
    assert reading.claim.text == middle.text
    before = reader.claim(
        claim_id, Basis(recorded_at=replayed(ledger, claim_id, 1).created_on)
    )
    assert before is not None
    assert before.claim.version == 1


def test_snapshots_are_stored_compressed(ledger: ClaimsLedger) -> None:
    """A snapshot holds a claim's whole state: stored compressed (zlib),
    several times smaller than the state it holds."""
    claim_id = long_claim(ledger)
    assert ledger.snapshots is not None
    stored = ledger.snapshots.recorder.select_events(claim_id)
    assert [s.originator_version for s in stored] == [
        SNAPSHOT_EVERY,
        2 * SNAPSHOT_EVERY,
    ]
    for snapshot in stored:
        state = zlib.decompress(snapshot.state)
        assert len(snapshot.state) < len(state)
        assert json.loads(state)["state"]["text"] == (
            f"Wording {snapshot.originator_version}"
        )
