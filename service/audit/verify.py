"""Checking the log against its tree and its signed checkpoints, as an
auditor would: every leaf recomputed from the stored events, in position
order, compared with the tree's leaf at the same index (which names the
first event altered, removed, inserted or moved), and the tree those
recomputed leaves make compared with every signed checkpoint (which catches
what was altered in the tree's own tables as well, and proves the
checkpoints' signatures)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from service.audit.leaves import StoredEvent, hash_of
from service.audit.merkle import CompactRange
from service.audit.notes import Checkpoint, NoteError, Verifier, open_checkpoint
from service.audit.tree import AuditTree
from service.views.database import ViewDatabase

CHUNK = 5000


@dataclass(frozen=True)
class Finding:
    position: int | None
    problem: str

    def __str__(self) -> str:
        where = f"position {self.position}" if self.position is not None else "log"
        return f"{where}: {self.problem}"


@dataclass
class Report:
    events: int = 0  # events read from the log
    leaves: int = 0  # of them, compared with the tree's leaves
    checkpoints: int = 0  # signed checkpoints whose roots were recomputed
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def verify(
    database: ViewDatabase,
    tree: AuditTree,
    verifier: Verifier,
    origin: str,
    kept: Sequence[str] = (),
    progress: Callable[[int], object] | None = None,
) -> Report:
    """The log checked against the tree and every checkpoint: the stored
    ones and ``kept`` (notes an auditor kept elsewhere). Stops at the first
    event found wrong: every later leaf would differ too."""
    report = Report()
    pending = _checkpoints(tree, verifier, origin, kept, report)
    frontier = CompactRange()
    stored = _stored_leaves(database)
    for index, event in enumerate(_events(database)):
        leaf = hash_of(event)
        report.events += 1
        if progress is not None:
            progress(1)
        expected = next(stored, None)
        if expected is not None:
            finding = _compare(event, leaf, expected)
            if finding is not None:
                report.findings.append(finding)
                return report
            report.leaves += 1
        frontier.append(leaf)
        while pending and pending[0].size == index + 1:
            checkpoint = pending.pop(0)
            report.checkpoints += 1
            if frontier.root() != checkpoint.root:
                report.findings.append(
                    Finding(
                        event.position,
                        f"the first {checkpoint.size} events do not make the "
                        "tree of the signed checkpoint of that size: an event "
                        "up to here was altered, in the log and in the tree",
                    )
                )
                return report
    missing = next(stored, None)
    if missing is not None:
        report.findings.append(
            Finding(missing[1], "removed: the tree holds an event the log lacks")
        )
    elif pending:
        report.findings.append(
            Finding(
                None,
                f"a signed checkpoint covers {pending[0].size} events; the log "
                f"holds {report.events}: events were removed from its end",
            )
        )
    return report


def _checkpoints(
    tree: AuditTree,
    verifier: Verifier,
    origin: str,
    kept: Sequence[str],
    report: Report,
) -> list[Checkpoint]:
    """Every checkpoint to check, by size; a note that does not open is a
    finding of its own."""
    found: dict[int, Checkpoint] = {}
    notes = [c.note for c in tree.checkpoints()] + list(kept)
    for note in notes:
        try:
            checkpoint = open_checkpoint(note, verifier, origin)
        except NoteError as refused:
            report.findings.append(
                Finding(None, f"a checkpoint does not verify: {refused}")
            )
            continue
        if found.get(checkpoint.size, checkpoint) != checkpoint:
            report.findings.append(
                Finding(
                    None,
                    f"two signed checkpoints of size {checkpoint.size} differ: "
                    "the log was forked",
                )
            )
        found[checkpoint.size] = checkpoint
    return [found[size] for size in sorted(found) if size > 0]


def _compare(
    event: StoredEvent, leaf: bytes, expected: tuple[int, int, bytes]
) -> Finding | None:
    _, position, stored = expected
    if event.position == position:
        if leaf != stored:
            return Finding(
                position,
                "altered: the stored event no longer hashes to its leaf (its "
                "data, its metadata, or another event moved into its place)",
            )
        return None
    if event.position > position:
        return Finding(position, "removed: the event at this position is gone")
    return Finding(event.position, "inserted: an event the tree never held")


def _events(database: ViewDatabase) -> Iterator[StoredEvent]:
    after = 0
    while True:
        with database.reading() as cursor:
            rows = cursor.events_after(after, CHUNK)
        if not rows:
            return
        yield from (StoredEvent.of(row) for row in rows)
        after = rows[-1].id


def _stored_leaves(database: ViewDatabase) -> Iterator[tuple[int, int, bytes]]:
    """The tree's leaves in order: (index, position, hash)."""
    start = 0
    while True:
        with database.reading() as cursor:
            rows = cursor.all(
                "SELECT leaf, position, hash FROM {audit_leaves} "
                "WHERE leaf >= ? ORDER BY leaf LIMIT ?",
                (start, CHUNK),
            )
        if not rows:
            return
        for leaf, position, stored in rows:
            yield int(leaf), int(position), bytes(stored)
        start = int(rows[-1][0]) + 1
