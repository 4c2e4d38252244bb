"""The tree, its proofs and their checks agree with RFC 6962/9162's reference
values: the eight-leaf tree of the Certificate Transparency test suite
(transparency-dev/merkle's test data: its leaves, roots and proofs, restated
here as values), so they are checked by something other than this code.
Then every proof of every tree up to 33 leaves verifies, and none survives a
change."""

from __future__ import annotations

import base64

import pytest

from service.audit.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_of,
    subtree_of,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [  # by tree size, 0 to 8
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSIONS = [  # (leaf index, tree size, proof), base64 as published
    (0, 1, []),
    (
        0,
        8,
        [
            "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=",
        ],
    ),
    (
        5,
        8,
        [
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
            "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
        ],
    ),
    (2, 3, ["+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU="]),
    (
        1,
        5,
        [
            "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
        ],
    ),
]
CONSISTENCIES = [  # (old size, new size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=",
        ],
    ),
    (
        6,
        8,
        [
            "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
            "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
        ],
    ),
    (
        2,
        5,
        [
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
        ],
    ),
    (
        6,
        7,
        [
            "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
            "sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
        ],
    ),
]
HASHES = [leaf_hash(leaf) for leaf in LEAVES]


def decoded(proof: list[str]) -> list[bytes]:
    return [base64.b64decode(p) for p in proof]


def root(size: int) -> bytes:
    return bytes.fromhex(ROOTS[size])


def test_the_roots_of_the_reference_tree() -> None:
    assert root_of([]) == EMPTY_ROOT == root(0)
    for size in range(1, 9):
        assert root_of(HASHES[:size]) == root(size), size


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSIONS)
def test_inclusion_proofs_are_the_published_ones_and_verify(
    index: int, size: int, proof: list[str]
) -> None:
    subtree = subtree_of(HASHES[:size])
    assert inclusion_proof(index, size, subtree) == decoded(proof)
    assert verify_inclusion(HASHES[index], index, size, decoded(proof), root(size))


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCIES)
def test_consistency_proofs_are_the_published_ones_and_verify(
    old: int, new: int, proof: list[str]
) -> None:
    subtree = subtree_of(HASHES[:new])
    assert consistency_proof(old, new, subtree) == decoded(proof)
    assert verify_consistency(old, new, root(old), root(new), decoded(proof))


def flipped(proof: list[bytes], at: int) -> list[bytes]:
    changed = bytearray(proof[at])
    changed[0] ^= 1
    return [*proof[:at], bytes(changed), *proof[at + 1 :]]


def test_every_proof_of_every_small_tree_verifies_and_no_altered_one_does() -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(33)]
    for size in range(1, 34):
        subtree = subtree_of(hashes[:size])
        top = root_of(hashes[:size])
        for index in range(size):
            proof = inclusion_proof(index, size, subtree)
            assert verify_inclusion(hashes[index], index, size, proof, top)
            other = (index + 1) % size
            if other != index:
                assert not verify_inclusion(hashes[other], index, size, proof, top)
            for at in range(len(proof)):
                assert not verify_inclusion(
                    hashes[index], index, size, flipped(proof, at), top
                )
        for old in range(1, size + 1):
            proof = consistency_proof(old, size, subtree)
            old_root = root_of(hashes[:old])
            assert verify_consistency(old, size, old_root, top, proof)
            assert not verify_consistency(old, size, top, old_root, proof) or (
                old == size
            )
            for at in range(len(proof)):
                assert not verify_consistency(
                    old, size, old_root, top, flipped(proof, at)
                )
            if proof:
                assert not verify_consistency(old, size, old_root, top, proof[:-1])
                assert not verify_consistency(
                    old, size, old_root, top, [*proof, proof[0]]
                )


def test_a_proof_outside_the_tree_is_refused() -> None:
    subtree = subtree_of(HASHES)
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(8, 8, subtree)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(5, 3, subtree)
    assert not verify_inclusion(HASHES[0], 0, 0, [], root(0))
    assert not verify_consistency(5, 3, root(5), root(3), [])
