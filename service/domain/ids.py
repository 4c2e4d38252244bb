"""Deterministic ids for natural keys: one key, one stream, on every machine."""

from __future__ import annotations

from uuid import UUID, uuid5

# Fixed namespace of this product; changing it would orphan every keyed stream.
LEDGER_NAMESPACE = UUID("6f1f3c2e-52a4-4d3b-9a57-3d7f0c1e9b21")


def source_id_for(key: str) -> UUID:
    return uuid5(LEDGER_NAMESPACE, f"source:{key}")


def claim_id_for(key: str) -> UUID:
    return uuid5(LEDGER_NAMESPACE, f"claim:{key}")


def stance_id_for(claim_id: UUID, key: str) -> UUID:
    return uuid5(claim_id, f"stance:{key}")


def link_id_for(claim_id: UUID, key: str) -> UUID:
    return uuid5(claim_id, f"link:{key}")


def idempotency_id_for(principal: str, key: str) -> UUID:
    return uuid5(LEDGER_NAMESPACE, f"idempotency:{principal}:{key}")


def affiliations_id() -> UUID:
    """The one stream that serialises changes to the affiliation graph."""
    return uuid5(LEDGER_NAMESPACE, "affiliations")
