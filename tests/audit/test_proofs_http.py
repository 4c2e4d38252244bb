"""Auditors over HTTP: the public key and the latest signed checkpoint at
fixed paths, inclusion and consistency proofs over GraphQL, each checked
with an RFC 9162 verifier that is not ours (tlog-scales) against the roots of
checkpoints whose signatures we open with the published key. On both
stores, against the real server."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import httpx
from tlog_scales.tlog import ConsistencyProof, InclusionProof

from service.audit.merkle import verify_consistency, verify_inclusion
from service.audit.notes import Checkpoint, Verifier, open_checkpoint
from service.settings import DEFAULT_ORIGIN
from tests.fakes import EDITOR_KEY, error_codes, gql

INCLUSION = """query($position: Position!, $size: Int) {
  inclusionProof(position: $position, treeSize: $size) {
    position leafIndex treeSize leaf leafHash path rootHash } }"""
CONSISTENCY = """query($from: Int!, $to: Int) {
  consistencyProof(fromSize: $from, toSize: $to) {
    fromSize toSize fromRootHash toRootHash path } }"""
PROPOSE = """mutation($in: ProposeClaimInput!) {
  proposeClaim(input: $in) { position } }"""


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def signed(client: httpx.Client, at_least: int = 1, wait: float = 30.0) -> Checkpoint:
    """The latest checkpoint, once one covers ``at_least`` events, its
    signature opened with the key the server publishes."""
    key = Verifier.parse(client.get("/audit/key").text)
    deadline = time.monotonic() + wait
    while True:
        answer = client.get("/audit/checkpoint")
        if answer.status_code == 200:
            assert answer.headers["content-type"].startswith("text/plain")
            checkpoint = open_checkpoint(answer.text, key, DEFAULT_ORIGIN)
            if checkpoint.size >= at_least:
                return checkpoint
        assert time.monotonic() < deadline, "no checkpoint came"
        time.sleep(0.05)


def data(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    body = gql(client, query, variables, key=EDITOR_KEY)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]
    return found


def propose(client: httpx.Client, text: str) -> int:
    done = data(client, PROPOSE, **{"in": {"text": text}})
    return int(done["proposeClaim"]["position"])


def test_every_seed_event_is_proven_in_the_signed_tree(client: httpx.Client) -> None:
    checkpoint = signed(client, at_least=41)
    for position in (1, 2, 17, 41):
        proof = data(client, INCLUSION, position=position, size=checkpoint.size)
        found = proof["inclusionProof"]
        leaf = b64(found["leaf"])
        assert hashlib.sha256(b"\x00" + leaf).digest() == b64(found["leafHash"])
        assert json.loads(leaf)["version"] >= 1
        assert b64(found["rootHash"]) == checkpoint.root
        path = [b64(h) for h in found["path"]]
        index = found["leafIndex"]
        # tlog-scales raises if the proof does not hold
        InclusionProof(index, checkpoint.size, path).check(
            b64(found["leafHash"]), checkpoint.root
        )
        assert verify_inclusion(
            b64(found["leafHash"]), index, checkpoint.size, path, checkpoint.root
        )


def test_a_kept_checkpoint_and_a_later_one_prove_the_log_only_grew(
    client: httpx.Client,
) -> None:
    kept = signed(client)
    last = max(
        propose(client, f"Recorded after a kept checkpoint, {i}.") for i in range(5)
    )
    newer = signed(client, at_least=kept.size + 5)
    proof = data(client, CONSISTENCY, **{"from": kept.size, "to": newer.size})
    found = proof["consistencyProof"]
    assert (b64(found["fromRootHash"]), b64(found["toRootHash"])) == (
        kept.root,
        newer.root,
    )
    path = [b64(h) for h in found["path"]]
    ConsistencyProof(kept.size, newer.size, path).check(kept.root, newer.root)
    assert verify_consistency(kept.size, newer.size, kept.root, newer.root, path)
    # and the new events are in the newer tree
    included = data(client, INCLUSION, position=last)["inclusionProof"]
    assert included["treeSize"] >= newer.size


def test_a_write_is_covered_by_a_signed_checkpoint_soon_after_it_is_acknowledged(
    client: httpx.Client,
) -> None:
    position = propose(client, "Recorded, then covered.")
    acknowledged = time.monotonic()
    deadline = acknowledged + 30
    while True:
        body = gql(client, INCLUSION, {"position": position}, key=EDITOR_KEY)
        if "errors" not in body:
            break
        assert error_codes(body) == ["EVENT_NOT_IN_TREE"], body
        assert time.monotonic() < deadline, "the write was never covered"
        time.sleep(0.02)
    checkpoint = signed(client)
    assert body["data"]["inclusionProof"]["treeSize"] <= checkpoint.size


def test_proofs_outside_the_tree_are_refused_with_codes(client: httpx.Client) -> None:
    checkpoint = signed(client)
    beyond = gql(client, INCLUSION, {"position": 10**9}, key=EDITOR_KEY)
    assert error_codes(beyond) == ["EVENT_NOT_IN_TREE"]
    too_big = gql(client, INCLUSION, {"position": 1, "size": 10**9}, key=EDITOR_KEY)
    assert error_codes(too_big) == ["BAD_USER_INPUT"]
    backwards = gql(
        client, CONSISTENCY, {"from": checkpoint.size, "to": 1}, key=EDITOR_KEY
    )
    assert error_codes(backwards) == ["BAD_USER_INPUT"]
    empty = data(client, CONSISTENCY, **{"from": 0})["consistencyProof"]
    assert empty["path"] == []
    assert b64(empty["fromRootHash"]) == hashlib.sha256(b"").digest()
    assert empty["toSize"] >= checkpoint.size
