"""Natural keys and idempotency keys over real HTTP, on each store: a key is
taken once, a blank key is refused, and concurrent requests on one key leave
exactly one recorded write (never a 500, never someone else's answer)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import recorded_since
from tests.fakes import EDITOR_KEY, Server, error_codes, gql, nodes

PROPOSE = """mutation($input: ProposeClaimInput!) {
  proposeClaim(input: $input) { version position replayed claim { id key text } } }"""
REGISTER = """mutation($input: RegisterSourceInput!) {
  registerSource(input: $input) { version replayed source { id key name } } }"""
CLAIM_TEXTS = """query($text: String!) {
  claims(text: $text, first: 100) { edges { node { text } } } }"""
RACERS = 4


def position(client: httpx.Client) -> int:
    return int(client.get("/healthz").json()["position"])


def claim_texts(client: httpx.Client, text: str) -> list[str]:
    body = gql(client, CLAIM_TEXTS, {"text": text})
    return [e["node"]["text"] for e in body["data"]["claims"]["edges"]]


def source_names(client: httpx.Client, key: str) -> list[str]:
    body = gql(client, "{ sources(first: 100) { edges { node { key name } } } }")
    return [s["name"] for s in nodes(body["data"]["sources"]) if s["key"] == key]


def concurrently(
    server: Server, query: str, inputs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Send one mutation per input at once, as separate clients would."""

    async def send_all() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            responses = await asyncio.gather(
                *(
                    http.post(
                        "/graphql",
                        json={"query": query, "variables": {"input": data}},
                        headers={"Authorization": f"Bearer {EDITOR_KEY}"},
                    )
                    for data in inputs
                )
            )
        assert [r.status_code for r in responses] == [200] * len(inputs)
        return [r.json() for r in responses]

    return asyncio.run(send_all())


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_idempotency_key_is_refused_and_records_nothing(
    server: Server, client: httpx.Client, blank: str
) -> None:
    before = position(client)
    text = f"Sent with the blank key {blank!r}."
    claim = gql(
        client, PROPOSE, {"input": {"text": text, "idempotencyKey": blank}}, EDITOR_KEY
    )
    source = gql(
        client,
        REGISTER,
        {
            "input": {
                "name": "Blank",
                "kind": "OUTLET",
                "key": "blank-key-source",
                "idempotencyKey": blank,
            }
        },
        EDITOR_KEY,
    )
    assert (error_codes(claim), claim["data"]) == (["BAD_USER_INPUT"], None)
    assert (error_codes(source), source["data"]) == (["BAD_USER_INPUT"], None)
    assert recorded_since(server, before) == []
    assert claim_texts(client, text) == []
    assert source_names(client, "blank-key-source") == []


def test_a_natural_key_already_taken_is_refused(
    server: Server, client: httpx.Client
) -> None:
    before = position(client)
    source = gql(
        client,
        REGISTER,
        {"input": {"key": "wsj", "name": "Another Journal", "kind": "OUTLET"}},
        EDITOR_KEY,
    )
    claim = gql(
        client,
        PROPOSE,
        {
            "input": {
                "key": "quds-force-approved-attack-at-beirut-meeting",
                "text": "Another wording under a taken key.",
            }
        },
        EDITOR_KEY,
    )
    assert (error_codes(source), source["data"]) == (["ALREADY_EXISTS"], None)
    assert (error_codes(claim), claim["data"]) == (["ALREADY_EXISTS"], None)
    assert recorded_since(server, before) == []
    assert source_names(client, "wsj") == ["The Wall Street Journal"]
    assert claim_texts(client, "Another wording under a taken key") == []


def winner_and_codes(
    results: list[dict[str, Any]], field: str
) -> tuple[dict[str, Any], list[list[str]]]:
    winners = [r["data"][field] for r in results if r.get("data")]
    assert len(winners) == 1, results
    return winners[0], sorted(error_codes(r) for r in results if r.get("errors"))


def test_keyless_creates_racing_on_one_claim_key_record_one(
    server: Server, client: httpx.Client
) -> None:
    before = position(client)
    texts = [f"Racing claim, version {n}." for n in range(RACERS)]
    results = concurrently(
        server, PROPOSE, [{"key": "racing-claim", "text": t} for t in texts]
    )
    winner, losers = winner_and_codes(results, "proposeClaim")
    assert losers == [["ALREADY_EXISTS"]] * (RACERS - 1)
    assert winner["replayed"] is False
    assert recorded_since(server, before) == ["Claim.Proposed"]
    assert claim_texts(client, "Racing claim") == [winner["claim"]["text"]]


def test_keyless_creates_racing_on_one_source_key_record_one(
    server: Server, client: httpx.Client
) -> None:
    before = position(client)
    names = [f"Racing Outlet {n}" for n in range(RACERS)]
    results = concurrently(
        server,
        REGISTER,
        [{"key": "racing-outlet", "name": n, "kind": "OUTLET"} for n in names],
    )
    winner, losers = winner_and_codes(results, "registerSource")
    assert losers == [["ALREADY_EXISTS"]] * (RACERS - 1)
    assert recorded_since(server, before) == ["Source.Registered"]
    assert source_names(client, "racing-outlet") == [winner["source"]["name"]]


def test_different_requests_racing_on_one_idempotency_key_record_one(
    server: Server, client: httpx.Client
) -> None:
    before = position(client)
    inputs = [
        {"text": f"Keyed racer {n}.", "idempotencyKey": "one-key-many-requests"}
        for n in range(RACERS)
    ]
    results = concurrently(server, PROPOSE, inputs)
    winner, losers = winner_and_codes(results, "proposeClaim")
    assert losers == [["IDEMPOTENCY_KEY_REUSED"]] * (RACERS - 1)
    assert winner["replayed"] is False
    recorded = ["Claim.Proposed", "IdempotencyRecord.Recorded"]
    assert recorded_since(server, before) == recorded
    assert claim_texts(client, "Keyed racer") == [winner["claim"]["text"]]

    # The key now stands for the winner's request: it replays, the rest stay refused.
    winning_input = next(i for i in inputs if i["text"] == winner["claim"]["text"])
    retried = gql(client, PROPOSE, {"input": winning_input}, EDITOR_KEY)
    assert retried["data"]["proposeClaim"] == {**winner, "replayed": True}
    losing_input = next(i for i in inputs if i is not winning_input)
    refused = gql(client, PROPOSE, {"input": losing_input}, EDITOR_KEY)
    assert error_codes(refused) == ["IDEMPOTENCY_KEY_REUSED"]
    assert recorded_since(server, before) == recorded
