"""The Merkle tree of RFC 9162 (Certificate Transparency 2.0, section 2.1),
its proofs and their verification: pure functions of hashes.

A leaf's hash is SHA-256(0x00 || leaf), an interior node's SHA-256(0x01 ||
left || right), the empty tree's SHA-256 of nothing; a tree of n > 1 leaves
splits at k, the largest power of two below n. Where a tree is stored, a
proof asks it for the hash of leaves ``[start, end)`` (``Subtree``): the
ranges a proof needs start at a multiple of a power of two, so a stored tree
answers each from at most log n stored perfect subtrees."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

Subtree = Callable[[int, int], bytes]
"""The root hash of the leaves ``[start, end)`` of a tree (end > start)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(size: int) -> int:
    """The largest power of two below ``size`` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of(hashes: Sequence[bytes]) -> bytes:
    """The root of a tree whose leaves have these hashes, in order."""
    if not hashes:
        return EMPTY_ROOT
    return _root(hashes, 0, len(hashes))


def _root(hashes: Sequence[bytes], start: int, end: int) -> bytes:
    if end - start == 1:
        return hashes[start]
    k = split(end - start)
    return node_hash(_root(hashes, start, start + k), _root(hashes, start + k, end))


def perfect_ranges(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees the first ``size`` leaves make, largest first,
    each as (level, first leaf): the tree's "compact range"."""
    found = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            found.append((level, start))
            start += 1 << level
    return found


class CompactRange:
    """A tree that only grows, held as the roots of its perfect subtrees
    (largest first): a leaf is added, and the root read, in O(log n)."""

    def __init__(self, size: int = 0, roots: Sequence[bytes] = ()) -> None:
        """``roots``: those of ``perfect_ranges(size)``, in that order."""
        levels = [level for level, _ in perfect_ranges(size)]
        if len(levels) != len(roots):
            msg = f"a tree of {size} leaves has {len(levels)} perfect subtrees"
            raise ValueError(msg)
        self.size = size
        self._nodes = list(zip(levels, roots, strict=True))

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf's hash; the perfect subtrees it completes, as (level,
        index at that level, root)."""
        level, carry, made = 0, leaf, []
        index = self.size
        while index & 1:
            _, left = self._nodes.pop()
            carry = node_hash(left, carry)
            level += 1
            index >>= 1
            made.append((level, index, carry))
        self._nodes.append((level, carry))
        self.size += 1
        return made

    def root(self) -> bytes:
        if not self._nodes:
            return EMPTY_ROOT
        root = self._nodes[-1][1]
        for _, left in reversed(self._nodes[:-1]):
            root = node_hash(left, root)
        return root


def subtree_of(hashes: Sequence[bytes]) -> Subtree:
    """A ``Subtree`` over leaf hashes held in memory."""
    return lambda start, end: _root(hashes, start, end)


def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves
    (RFC 9162 2.1.3.1), from the leaf's sibling up."""
    if not 0 <= index < size:
        msg = f"leaf {index} is not in a tree of {size}"
        raise ValueError(msg)
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(old: int, new: int, subtree: Subtree) -> list[bytes]:
    """The proof that the tree of ``old`` leaves is a prefix of the tree of
    ``new`` (RFC 9162 2.1.4.1); empty when ``old`` is 0 or ``new``."""
    if not 0 <= old <= new:
        msg = f"no consistency proof from {old} to {new} leaves"
        raise ValueError(msg)
    if old in (0, new):
        return []
    proof: list[bytes] = []
    start, end, whole = 0, new, True
    # SUBPROOF(m, D[start:end], whole), unrolled
    while True:
        m = old - start
        if m == end - start:
            if not whole:
                proof.append(subtree(start, end))
            break
        k = split(end - start)
        if m <= k:
            proof.append(subtree(start + k, end))
            end = start + k
        else:
            proof.append(subtree(start, start + k))
            start, whole = start + k, False
    proof.reverse()
    return proof


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree
    of ``size`` leaves whose root is ``root`` (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    found = leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            found = node_hash(sibling, found)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            found = node_hash(found, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and found == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree of ``old`` leaves with ``old_root``
    to be a prefix of the tree of ``new`` leaves with ``new_root`` (RFC 9162
    2.1.4.2)."""
    if not 0 <= old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof  # the empty tree is a prefix of every tree
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root starts the path
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
