"""GraphQL for auditors: the latest signed checkpoint, and inclusion and
consistency proofs against it (or any smaller tree). Hashes are base64, as
in the checkpoint's own text; the rules live in service.audit."""

from __future__ import annotations

import base64
from datetime import datetime

import strawberry

from service.api.connections import Position
from service.api.context import Info
from service.audit.proofs import ConsistencyProof, InclusionProof
from service.audit.tree import SignedCheckpoint


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


@strawberry.type(
    description="A signed checkpoint of the audit tree (C2SP tlog-checkpoint): "
    "the tree over the first treeSize events of the log, in position order."
)
class Checkpoint:
    origin: str = strawberry.field(description="The log's name.")
    tree_size: int
    root_hash: str = strawberry.field(description="RFC 9162 root hash, base64.")
    note: str = strawberry.field(
        description="The signed note, as GET /audit/checkpoint serves it: check "
        "it with the public key at GET /audit/key."
    )
    signed_at: datetime

    @classmethod
    def of(cls, signed: SignedCheckpoint, origin: str) -> Checkpoint:
        return cls(
            origin=origin,
            tree_size=signed.size,
            root_hash=_b64(signed.root),
            note=signed.note,
            signed_at=signed.signed_at,
        )


@strawberry.type(
    description="That the event at a position is a leaf of the tree of "
    "treeSize events (RFC 9162 2.1.3): hash leaf as SHA-256(0x00 || leaf), "
    "fold the path up to rootHash, and compare with a signed checkpoint of "
    "that size."
)
class InclusionProofNode:
    position: Position
    leaf_index: int
    tree_size: int
    leaf: str = strawberry.field(
        description="The leaf as hashed: the event's canonical JSON (see the "
        "README's Auditors section), base64."
    )
    leaf_hash: str
    path: list[str] = strawberry.field(
        description="The audit path, from the leaf's sibling up, base64 each."
    )
    root_hash: str

    @classmethod
    def of(cls, proof: InclusionProof) -> InclusionProofNode:
        return cls(
            position=Position(proof.position),
            leaf_index=proof.index,
            tree_size=proof.size,
            leaf=_b64(proof.leaf),
            leaf_hash=_b64(proof.leaf_hash),
            path=[_b64(h) for h in proof.path],
            root_hash=_b64(proof.root),
        )


@strawberry.type(
    description="That the tree of fromSize events is a prefix of the tree of "
    "toSize (RFC 9162 2.1.4): the log only grew between two checkpoints."
)
class ConsistencyProofNode:
    from_size: int
    to_size: int
    from_root_hash: str
    to_root_hash: str
    path: list[str] = strawberry.field(description="The proof's hashes, base64.")

    @classmethod
    def of(cls, proof: ConsistencyProof) -> ConsistencyProofNode:
        return cls(
            from_size=proof.old,
            to_size=proof.new,
            from_root_hash=_b64(proof.old_root),
            to_root_hash=_b64(proof.new_root),
            path=[_b64(h) for h in proof.path],
        )


async def latest_checkpoint(info: Info) -> Checkpoint | None:
    audit = info.context.services.audit
    signed = await info.context.read(audit.latest_signed, units=1)
    return Checkpoint.of(signed, audit.origin) if signed else None


async def prove_inclusion(
    info: Info, position: int, tree_size: int | None
) -> InclusionProofNode:
    proofs = info.context.services.proofs
    proof = await info.context.read(proofs.inclusion, position, tree_size, units=1)
    return InclusionProofNode.of(proof)


async def prove_consistency(
    info: Info, from_size: int, to_size: int | None
) -> ConsistencyProofNode:
    proofs = info.context.services.proofs
    proof = await info.context.read(proofs.consistency, from_size, to_size, units=1)
    return ConsistencyProofNode.of(proof)
