"""A long claim is snapshotted every SNAPSHOT_EVERY versions; loading any
version, or reading at a recorded time, gives what replaying its events
gives."""

from __future__ import annotations

import json
import zlib
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
)
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteApplicationRecorder

from service.application import Actor, ClaimsLedger
from service.application.commands import CorrectWording, ProposeClaim
from service.application.ledger import SNAPSHOT_EVERY
from service.domain.claim import Claim
from service.persistence.snapshots import SQLiteSnapshotRecorder
from service.readings import Basis, Reader
from tests.conftest import Store
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


def test_a_store_s_uncompressed_snapshots_are_taken_in_once(
    store: Store, clock: SteppingClock
) -> None:
    """A store written before snapshots were compressed: at start its
    snapshots are compressed into the new table and the old one is dropped,
    so long claims still load from a snapshot."""
    ledger = store.open()
    claim_id = long_claim(ledger)
    legacy = as_written_before(ledger, claim_id)
    ledger.close()

    upgraded = store.open()
    try:
        assert upgraded.snapshots is not None
        taken = upgraded.snapshots.recorder.select_events(claim_id)
        assert [s.originator_version for s in taken] == [
            SNAPSHOT_EVERY,
            2 * SNAPSHOT_EVERY,
        ]
        assert all(zlib.decompress(s.state) for s in taken)
        assert not has_table(upgraded, legacy)
        version = SNAPSHOT_EVERY + 7
        loaded = upgraded.get_claim(claim_id, version)
        assert vars(loaded) == vars(replayed(upgraded, claim_id, version))
    finally:
        upgraded.close()
    again = store.open()  # nothing left to take in: it starts as ever
    again.close()


def as_written_before(ledger: ClaimsLedger, claim_id: UUID) -> str:
    """The claim's snapshots moved, uncompressed, into the table where the
    store kept them before; that table's name."""
    assert ledger.snapshots is not None
    new = ledger.snapshots.recorder
    plain = [
        StoredEvent(
            s.originator_id, s.originator_version, s.topic, zlib.decompress(s.state)
        )
        for s in new.select_events(claim_id)
    ]
    assert len(plain) == 2
    old: AggregateRecorder
    if isinstance(new, SQLiteAggregateRecorder):
        legacy = "stored_snapshots"
        old = SQLiteSnapshotRecorder(new.datastore, legacy)
        table = new.events_table_name
    else:
        assert isinstance(new, PostgresAggregateRecorder)
        legacy = "claimsledger_snapshots"
        old = PostgresAggregateRecorder(new.datastore, events_table_name=legacy)
        table = f'"{new.datastore.schema}".{new.events_table_name}'
    old.create_table()
    old.insert_events(plain)
    with new.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - our own table
    return legacy


def has_table(ledger: ClaimsLedger, name: str) -> bool:
    recorder = ledger.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        query = "SELECT 1 FROM sqlite_master WHERE name = ?"
        params: tuple[str, ...] = (name,)
    else:
        assert isinstance(recorder, PostgresApplicationRecorder)
        query = (
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = %s"
        )
        params = (recorder.datastore.schema, name)
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(query, params)
        return cursor.fetchone() is not None
