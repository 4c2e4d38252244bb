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
    tree_size: int = 0  # the tree's size when the check began
    covered: int = 0  # the events the largest signed checkpoint covers
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
    """The log checked against the tree (its leaves and every node stored
    above them, as the tree stood when the check began) and against every
    checkpoint: the stored ones and ``kept`` (notes an auditor kept
    elsewhere). Stops at the first thing found wrong: everything after it
    would differ too."""
    report = Report()
    head_position, head_size = tree.tracking()
    report.tree_size = head_size
    pending = _checkpoints(tree, verifier, origin, kept, report)
    report.covered = pending[-1].size if pending else 0
    frontier = CompactRange()
    stored = _stored_leaves(database, head_size)
    nodes = _StoredNodes(database)
    last = 0
    for index, event in enumerate(_events(database)):
        leaf = hash_of(event)
        report.events += 1
        last = event.position
        if progress is not None:
            progress(1)
        in_tree = index < head_size
        if in_tree:
            expected = next(stored, None)
            finding = (
                _compare(event, leaf, expected)
                if expected is not None
                else Finding(event.position, "the tree lost this event's leaf")
            )
        elif event.position <= head_position:
            finding = Finding(event.position, "inserted: an event the tree never held")
        else:
            finding = None
        if finding is not None:
            report.findings.append(finding)
            return report
        report.leaves += int(in_tree)
        made = frontier.append(leaf)
        if in_tree and (damaged := nodes.check(made)) is not None:
            report.findings.append(
                Finding(
                    event.position,
                    f"the tree's stored node {damaged} is not what its leaves "
                    "make: the tree's own tables were altered",
                )
            )
            return report
        while pending and pending[0].size == index + 1:
            checkpoint = pending.pop(0)
            report.checkpoints += 1
            if in_tree and (damaged := nodes.flush()) is not None:
                report.findings.append(
                    Finding(
                        event.position,
                        f"the tree's stored node {damaged} is not what its "
                        "leaves make: the tree's own tables were altered",
                    )
                )
                return report
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
    damaged = nodes.flush()
    missing = next(stored, None)
    if report.events and not report.covered and not report.findings:
        report.findings.append(
            Finding(None, "no signed checkpoint: nothing signed vouches for the log")
        )
    if damaged is not None:
        report.findings.append(
            Finding(
                last,
                f"the tree's stored node {damaged} is not what its leaves make: "
                "the tree's own tables were altered",
            )
        )
    elif missing is not None:
        report.findings.append(
            Finding(missing[1], "removed: the tree holds an event the log lacks")
        )
    elif pending:
        report.findings.append(
            Finding(
                None,
                f"a signed checkpoint covers {pending[0].size} events; the log "
                f"holds {report.events}, the last at position {last}: the "
                f"events from leaf {report.events} on were removed",
            )
        )
    return report


class _StoredNodes:
    """The tree's stored nodes above the leaves, checked against those the
    recomputed leaves make, a few thousand at a time."""

    def __init__(self, database: ViewDatabase) -> None:
        self._db = database
        self._made: list[tuple[int, int, bytes]] = []

    def check(self, made: list[tuple[int, int, bytes]]) -> str | None:
        """Take these; once enough wait, check them: the first that differs,
        named."""
        self._made += made
        return self.flush() if len(self._made) >= CHUNK else None

    def flush(self) -> str | None:
        made, self._made = self._made, []
        by_level: dict[int, dict[int, bytes]] = {}
        for level, index, node in made:
            by_level.setdefault(level, {})[index] = node
        with self._db.reading() as cursor:
            for level, wanted in sorted(by_level.items()):
                rows = cursor.all(
                    "SELECT idx, hash FROM {audit_nodes} "
                    "WHERE level = ? AND idx BETWEEN ? AND ?",
                    (level, min(wanted), max(wanted)),
                )
                found = {int(i): bytes(h) for i, h in rows}
                for index in sorted(wanted):
                    if found.get(index) != wanted[index]:
                        return f"at level {level}, index {index}"
        return None


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
    notes: list[tuple[str, tuple[int, bytes] | None]] = [
        (note, (size, root)) for size, root, note in tree.checkpoints()
    ]
    notes += [(note, None) for note in kept]
    for note, columns in notes:
        try:
            checkpoint = open_checkpoint(note, verifier, origin)
        except NoteError as refused:
            report.findings.append(
                Finding(None, f"a checkpoint does not verify: {refused}")
            )
            continue
        if columns is not None and columns != (checkpoint.size, checkpoint.root):
            report.findings.append(
                Finding(
                    None,
                    f"the stored row of the checkpoint of size {checkpoint.size} "
                    "says another size or root than its signed note: the row "
                    "was edited",
                )
            )
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


def _stored_leaves(
    database: ViewDatabase, size: int
) -> Iterator[tuple[int, int, bytes]]:
    """The tree's first ``size`` leaves in order: (index, position, hash)."""
    start = 0
    while True:
        with database.reading() as cursor:
            rows = cursor.all(
                "SELECT leaf, position, hash FROM {audit_leaves} "
                "WHERE leaf >= ? AND leaf < ? ORDER BY leaf LIMIT ?",
                (start, size, CHUNK),
            )
        if not rows:
            return
        for leaf, position, stored in rows:
            yield int(leaf), int(position), bytes(stored)
        start = int(rows[-1][0]) + 1
