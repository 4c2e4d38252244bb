"""An auditor finds any change to a stored event: its data, its metadata,
its removal, two events swapped, and a change made to the audit tree's own
tables as well; `verify` names the first position changed. On both stores,
through SQL run on the store as an intruder would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.application import Actor, ClaimsLedger
from service.application.commands import ProposeClaim
from service.audit.notes import Signer
from service.audit.tree import AuditTree, TreeDamagedError
from service.audit.verify import Report, verify
from service.views.database import ViewDatabase
from service.views.reads import Views
from tests.conftest import Store

ORIGIN = "claims.test/ledger"


@dataclass
class Audited:
    store: Store
    database: ViewDatabase
    tree: AuditTree
    signer: Signer

    def verify(self, kept: tuple[str, ...] = ()) -> Report:
        return verify(self.database, self.tree, self.signer.verifier, ORIGIN, kept)

    def sql(self, statement: str, params: tuple[object, ...] = ()) -> None:
        with self.database.writing() as cursor:
            cursor.execute(statement, params)

    def state(self, position: int) -> dict[str, object]:
        with self.database.reading() as cursor:
            found = cursor.one(
                "SELECT state FROM {events} WHERE {position} = ?", (position,)
            )
        assert found is not None
        loaded: dict[str, object] = json.loads(bytes(found[0]))
        return loaded

    def position_of(self, needle: str) -> int:
        """The first event whose stored state holds ``needle``."""
        with self.database.reading() as cursor:
            rows = cursor.all("SELECT {position}, state FROM {events} ORDER BY 1")
        return next(int(p) for p, state in rows if needle in bytes(state).decode())


@pytest.fixture
def audited(seeded: ClaimsLedger, store: Store) -> Iterator[Audited]:
    """The seed article's log, in the tree, with a signed checkpoint of it."""
    database = Views(seeded).database
    tree = AuditTree(database)
    tree.create()
    tree.catch_up()
    signer = Signer.generate(ORIGIN)
    tree.sign(signer, ORIGIN, datetime.now(UTC))
    yield Audited(store, database, tree, signer)
    database.close()


def test_an_untouched_log_verifies_clean(audited: Audited) -> None:
    report = audited.verify()
    assert report.ok, report.findings
    head = audited.tree.head()
    assert report.events == report.leaves == head.size > 40
    assert report.checkpoints == 1


def test_a_stance_turned_from_disputes_to_affirms_is_named(audited: Audited) -> None:
    position = audited.position_of('"kind":"DISPUTES"')
    audited.sql(
        "UPDATE {events} SET state = ? WHERE {position} = ?",
        (
            json.dumps({**audited.state(position), "kind": "AFFIRMS"}).encode(),
            position,
        ),
    )
    (finding,) = audited.verify().findings
    assert finding.position == position
    assert finding.problem.startswith("altered")


def test_altered_metadata_is_named(audited: Audited) -> None:
    position = audited.tree.head().size // 2
    state = audited.state(position)
    audited.sql(
        "UPDATE {events} SET state = ? WHERE {position} = ?",
        (json.dumps({**state, "actor": "someone-else"}).encode(), position),
    )
    (finding,) = audited.verify().findings
    assert finding.position == position


def test_a_deleted_event_is_named(audited: Audited) -> None:
    position = audited.tree.head().size // 3
    audited.sql("DELETE FROM {events} WHERE {position} = ?", (position,))
    (finding,) = audited.verify().findings
    assert finding.position == position
    assert finding.problem.startswith("removed")


def test_the_last_event_deleted_is_named(audited: Audited) -> None:
    last = audited.tree.head().position
    audited.sql("DELETE FROM {events} WHERE {position} = ?", (last,))
    (finding,) = audited.verify().findings
    assert finding.position == last


def test_two_swapped_events_are_named_at_the_first(audited: Audited) -> None:
    first, second = 7, 19
    for source, target in ((first, -1), (second, first), (-1, second)):
        audited.sql(
            "UPDATE {events} SET {position} = ? WHERE {position} = ?",
            (target, source),
        )
    (finding,) = audited.verify().findings
    assert finding.position == first


def test_an_event_changed_with_its_leaf_is_caught_by_the_signed_checkpoint(
    audited: Audited,
) -> None:
    """An intruder who rewrites the tree's leaf as well cannot sign for it."""
    position = audited.position_of('"kind":"DISPUTES"')
    audited.sql(
        "UPDATE {events} SET state = ? WHERE {position} = ?",
        (
            json.dumps({**audited.state(position), "kind": "AFFIRMS"}).encode(),
            position,
        ),
    )
    forged = AuditTree(audited.database)
    audited.sql("DELETE FROM {audit_leaves}")
    audited.sql("DELETE FROM {audit_nodes}")
    audited.sql("UPDATE {audit_tracking} SET position = 0, size = 0")
    forged.catch_up()  # the tree rebuilt over the altered log
    (finding,) = audited.verify().findings
    assert "signed checkpoint" in finding.problem


def test_events_after_the_tree_are_reported_not_failed(
    audited: Audited, seeded: ClaimsLedger
) -> None:
    seeded.propose_claim(Actor("editor"), ProposeClaim(text="Recorded later."))
    report = audited.verify()
    assert report.ok
    assert report.events == report.leaves + 1


def test_the_verify_command_exits_1_naming_the_position(
    audited: Audited, tmp_path: Path
) -> None:
    key_file = tmp_path / "audit-key"
    key_file.write_text(f"{audited.signer}\n")
    env = {
        **os.environ,
        "CLAIMS_AUDIT_KEY_FILE": str(key_file),
        "CLAIMS_AUDIT_ORIGIN": ORIGIN,
    }
    settings = audited.store.settings
    if settings.database_url:
        env["CLAIMS_DATABASE_URL"] = settings.database_url
    else:
        env["CLAIMS_DB"] = settings.db_path

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "service.cli", "verify"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    clean = run()
    assert clean.returncode == 0, clean.stderr
    assert "1 signed checkpoints recomputed" in clean.stdout
    position = audited.position_of('"kind":"DISPUTES"')
    audited.sql(
        "UPDATE {events} SET state = ? WHERE {position} = ?",
        (json.dumps({**audited.state(position), "actor": "x"}).encode(), position),
    )
    caught = run()
    assert caught.returncode == 1
    assert f"FAILED position {position}: altered" in caught.stderr
    assert "Traceback" not in caught.stderr


def test_a_state_that_is_no_longer_json_is_named_not_a_crash(
    audited: Audited,
) -> None:
    for damage in (b"\x00garbage", b'{"a":"\\ud800"}'):
        position = audited.tree.head().size // 2
        audited.sql(
            "UPDATE {events} SET state = ? WHERE {position} = ?", (damage, position)
        )
        (finding,) = audited.verify().findings
        assert finding.position == position
        assert finding.problem.startswith("altered")


def test_a_damaged_event_after_the_tree_still_becomes_a_leaf(
    audited: Audited, seeded: ClaimsLedger
) -> None:
    """The tree commits to whatever the log holds; it never stops on it."""
    seeded.propose_claim(Actor("editor"), ProposeClaim(text="Recorded later."))
    last = audited.tree.head().position + 1
    audited.sql("UPDATE {events} SET state = ? WHERE {position} = ?", (b"\x00", last))
    head = audited.tree.catch_up()
    assert head.position == last


def test_an_altered_node_of_the_tree_is_named_and_stops_the_signing(
    audited: Audited, seeded: ClaimsLedger
) -> None:
    audited.sql(
        "UPDATE {audit_nodes} SET hash = ? WHERE level = 3 AND idx = 1",
        (bytes(32),),
    )
    (finding,) = audited.verify().findings
    assert "stored node at level 3, index 1" in finding.problem
    # one the signed root rests on (41 leaves: 32, then 8 from leaf 32, then 1)
    audited.sql(
        "UPDATE {audit_nodes} SET hash = ? WHERE level = 3 AND idx = 4",
        (bytes(32),),
    )
    seeded.propose_claim(Actor("editor"), ProposeClaim(text="Recorded later."))
    audited.tree.catch_up()
    with pytest.raises(TreeDamagedError):
        audited.tree.sign(audited.signer, ORIGIN, datetime.now(UTC))


def test_a_checkpoint_row_edited_by_hand_is_named_and_passed_over(
    audited: Audited, seeded: ClaimsLedger
) -> None:
    (size, _, _), *_ = audited.tree.checkpoints()
    audited.sql("UPDATE {audit_checkpoints} SET size = 1000000 WHERE size = ?", (size,))
    findings = audited.verify().findings
    assert any("says another size or root" in f.problem for f in findings)
    seeded.propose_claim(Actor("editor"), ProposeClaim(text="Recorded later."))
    audited.tree.catch_up()
    signed = audited.tree.sign(audited.signer, ORIGIN, datetime.now(UTC))
    assert signed.size == size + 1
    latest = audited.tree.latest_checkpoint(audited.signer.verifier, ORIGIN)
    assert latest is not None
    assert latest.size == size + 1


def test_a_log_with_no_signed_checkpoint_does_not_verify(audited: Audited) -> None:
    audited.sql("DELETE FROM {audit_checkpoints}")
    (finding,) = audited.verify().findings
    assert "no signed checkpoint" in finding.problem


def test_rows_of_the_tree_removed_are_named_not_a_crash(audited: Audited) -> None:
    audited.sql("DELETE FROM {audit_nodes} WHERE level = 5 AND idx = 0")
    (finding,) = audited.verify().findings
    assert "stored node at level 5, index 0" in finding.problem
    # with the tracking row gone too, the log itself is still proven whole
    # by the signed checkpoint
    audited.sql("DELETE FROM {audit_tracking}")
    report = audited.verify()
    assert report.ok, report.findings
    assert report.checkpoints == 1


def test_a_wiped_tree_and_a_rewritten_event_do_not_verify(audited: Audited) -> None:
    audited.sql("DELETE FROM {audit_leaves}")
    audited.sql("DELETE FROM {audit_nodes}")
    audited.sql("DELETE FROM {audit_checkpoints}")
    audited.sql("UPDATE {audit_tracking} SET position = 0, size = 0")
    audited.sql(
        "UPDATE {events} SET state = ? WHERE {position} = 10",
        (json.dumps({**audited.state(10), "actor": "x"}).encode(),),
    )
    (finding,) = audited.verify().findings
    assert "no signed checkpoint" in finding.problem


def test_signing_reads_the_last_root_from_its_note_not_its_row(
    audited: Audited, seeded: ClaimsLedger
) -> None:
    """Editing the row to match altered nodes does not get them signed."""
    audited.sql(
        "UPDATE {audit_nodes} SET hash = ? WHERE level = 3 AND idx = 4", (bytes(32),)
    )
    audited.sql("UPDATE {audit_checkpoints} SET root = ?", (bytes(32),))
    for i in range(25):  # more rows of larger sizes change nothing either
        audited.sql(
            "INSERT INTO {audit_checkpoints} (size, root, note, signed_at) "
            "VALUES (?, ?, ?, ?)",
            (10_000 + i, bytes(32), "junk\n", "2026-01-01T00:00:00+00:00"),
        )
    seeded.propose_claim(Actor("editor"), ProposeClaim(text="Recorded later."))
    audited.tree.catch_up()
    with pytest.raises(TreeDamagedError):
        audited.tree.sign(audited.signer, ORIGIN, datetime.now(UTC))
    latest = audited.tree.latest_checkpoint(audited.signer.verifier, ORIGIN)
    assert latest is not None
    assert latest.size == 41
