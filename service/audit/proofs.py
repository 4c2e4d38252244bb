"""What an auditor asks of the tree: that an event is in it (inclusion) and
that a smaller tree is a prefix of a larger one (consistency), at the size
of a signed checkpoint unless told otherwise, each read from one snapshot of
the tree's tables."""

from __future__ import annotations

from dataclasses import dataclass

from service.audit.leaves import StoredEvent, leaf_of
from service.audit.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
)
from service.audit.notes import Verifier
from service.audit.tree import AuditTree
from service.domain.errors import InvalidInputError, NotFoundError
from service.views.database import ViewDatabase


class EventNotInTreeError(NotFoundError):
    code = "EVENT_NOT_IN_TREE"


@dataclass(frozen=True)
class InclusionProof:
    position: int
    index: int  # the leaf's index in the tree
    size: int
    leaf: bytes  # the canonical leaf (service.audit.leaves), as hashed
    leaf_hash: bytes
    path: list[bytes]  # RFC 9162 audit path, from the leaf's sibling up
    root: bytes


@dataclass(frozen=True)
class ConsistencyProof:
    old: int
    new: int
    old_root: bytes
    new_root: bytes
    path: list[bytes]  # RFC 9162 consistency proof


class Proofs:
    def __init__(
        self, database: ViewDatabase, tree: AuditTree, verifier: Verifier, origin: str
    ) -> None:
        """``verifier``, ``origin``: whose checkpoints a proof defaults to."""
        self._db = database
        self._tree = tree
        self._verifier = verifier
        self._origin = origin

    def _size(self, size: int | None, field: str) -> int:
        """The tree size asked for: by default the latest signed checkpoint's
        (the tree's own size before the first one)."""
        _, head = self._tree.tracking()
        if size is None:
            latest = self._tree.latest_checkpoint(self._verifier, self._origin)
            return latest.size if latest is not None else head
        if not 0 <= size <= head:
            raise InvalidInputError(
                f"the tree holds {head} events: a size is 0 to {head}",
                field=field,
                treeSize=head,
            )
        return size

    def inclusion(self, position: int, size: int | None = None) -> InclusionProof:
        """The proof that the event at ``position`` is leaf ``index`` of the
        tree of ``size`` leaves."""
        size = self._size(size, "treeSize")
        with self._db.reading() as cursor:
            found = cursor.one(
                "SELECT leaf FROM {audit_leaves} WHERE position = ?", (position,)
            )
            if found is None or int(found[0]) >= size:
                raise EventNotInTreeError(
                    f"no event at position {position} in the tree of {size}",
                    position=position,
                    treeSize=size,
                )
            index = int(found[0])
            events = cursor.events_after(position - 1, 1)
            if not events or events[0].id != position:
                raise EventNotInTreeError(
                    f"the log no longer holds the event at position {position}, "
                    "which the tree does: run claims-ledger verify",
                    position=position,
                )
            (event,) = events
            subtree = self._tree.subtree(cursor)
            path = inclusion_proof(index, size, subtree)
            root = subtree(0, size)
        leaf = leaf_of(StoredEvent.of(event))
        return InclusionProof(position, index, size, leaf, leaf_hash(leaf), path, root)

    def consistency(self, old: int, new: int | None = None) -> ConsistencyProof:
        """The proof that the tree of ``old`` leaves is a prefix of the tree
        of ``new``."""
        new = self._size(new, "toSize")
        if not 0 <= old <= new:
            raise InvalidInputError(
                f"fromSize is 0 to toSize ({new})", field="fromSize", toSize=new
            )
        with self._db.reading() as cursor:
            subtree = self._tree.subtree(cursor)
            return ConsistencyProof(
                old,
                new,
                subtree(0, old) if old else EMPTY_ROOT,
                subtree(0, new) if new else EMPTY_ROOT,
                consistency_proof(old, new, subtree),
            )
