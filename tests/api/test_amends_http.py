"""Amending sources, amending stances and correcting stances over real HTTP,
on each store: what each changes in what readers see, and every refusal's code
(a refusal records nothing)."""

from __future__ import annotations

from itertools import count
from typing import Any
from uuid import uuid4

import httpx
import pytest

from service.api.ids import global_id
from tests.conftest import recorded_since
from tests.fakes import EDITOR_KEY, READER_KEY, Server, error_codes, gql, nodes

SOURCE_FIELDS = "version source { id name affiliation { name } }"
CLAIM_FIELDS = """version stanceId claim { id status { value } stances { edges { node {
    stanceId kind quote note document { title publisher published } independent inForce
    reported { start } revised { start } chain { source { name } } } } } }"""
STANCE_READ = """query($id: ID!, $by: Date) { claim(id: $id) {
    status { value } stances { edges { node { kind quote revised { start } } } }
    asOf(basis: {reportedBy: $by}) {
        status { value } stances
          { edges { node { kind quote reported { start } revised { start } } } }
    }
    history(last: 1) { edges { node { type reason } } } } }"""
FRESH = count()


def mutate(
    client: httpx.Client, field: str, data: dict[str, Any], key: str | None = EDITOR_KEY
) -> dict[str, Any]:
    name = field[0].upper() + field[1:]
    fields = SOURCE_FIELDS if "Source" in name else CLAIM_FIELDS
    query = (
        f"mutation($input: {name}Input!) {{ {field}(input: $input) {{ {fields} }} }}"
    )
    return gql(client, query, {"input": data}, key=key)


def ok(client: httpx.Client, field: str, data: dict[str, Any]) -> dict[str, Any]:
    body = mutate(client, field, data)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"][field]
    return result


def code(client: httpx.Client, field: str, data: dict[str, Any], **kw: Any) -> str:
    body = mutate(client, field, data, **kw)
    assert body["data"] is None, body
    (found,) = error_codes(body)
    return found


def position(client: httpx.Client) -> int:
    return int(client.get("/healthz").json()["position"])


def source(client: httpx.Client, name: str, **extra: Any) -> str:
    data = {"name": name, "kind": "OUTLET", **extra}
    return str(ok(client, "registerSource", data)["source"]["id"])


def claim(client: httpx.Client) -> str:
    text = f"Something amendable happened ({next(FRESH)})."
    return str(ok(client, "proposeClaim", {"text": text})["claim"]["id"])


def stance(
    client: httpx.Client, claim_id: str, version: int, chain: list[str], **extra: Any
) -> dict[str, Any]:
    data = {
        "claimId": claim_id,
        "expectedVersion": version,
        "kind": "AFFIRMS",
        "chain": chain,
        "reported": {"precision": "DAY", "start": "2023-10-27"},
        "quote": "It happened.",
        **extra,
    }
    return ok(client, "recordStance", data)


# ---- sources -------------------------------------------------------------


def test_a_renamed_source_reads_renamed_wherever_it_is_cited(
    client: httpx.Client,
) -> None:
    outlet = source(client, "The Example Gazete")
    claim_id = claim(client)
    stance(client, claim_id, 1, [outlet])
    renamed = ok(
        client,
        "amendSource",
        {
            "sourceId": outlet,
            "expectedVersion": 1,
            "name": "The Example Gazette",
            "reason": "typo in our entry",
        },
    )
    assert (renamed["version"], renamed["source"]["name"]) == (
        2,
        "The Example Gazette",
    )
    body = gql(
        client,
        """query($id: ID!) { claim(id: $id) { stances
          { edges { node { chain { source { name } } } } } }
        sources(first: 100) { edges { node { id name } } } }""",
        {"id": claim_id},
    )
    (cited,) = nodes(body["data"]["claim"]["stances"])
    assert cited["chain"] == [{"source": {"name": "The Example Gazette"}}]
    names = {s["id"]: s["name"] for s in nodes(body["data"]["sources"])}
    assert names[outlet] == "The Example Gazette"


def test_re_affiliating_a_source_changes_who_counts_as_independent(
    client: httpx.Client,
) -> None:
    ministry = source(client, "Ministry of Examples", kind="GOVERNMENT_BODY")
    spokesman = source(client, "A ministry spokesman", kind="OFFICIAL")
    claim_id = claim(client)
    stance(client, claim_id, 1, [ministry])
    both = stance(client, claim_id, 2, [spokesman])
    assert both["claim"]["status"]["value"] == "CORROBORATED"

    def affiliate(version: int, affiliation: str | None) -> dict[str, Any]:
        data = {
            "sourceId": spokesman,
            "expectedVersion": version,
            "affiliationId": affiliation,
            "reason": "the article says who he speaks for",
        }
        return ok(client, "amendSource", data)

    def status() -> str:
        body = gql(
            client,
            "query($id: ID!) { claim(id: $id) { status { value } } }",
            {"id": claim_id},
        )
        return str(body["data"]["claim"]["status"]["value"])

    joined = affiliate(1, ministry)
    assert joined["source"]["affiliation"] == {"name": "Ministry of Examples"}
    assert status() == "SINGLE_SOURCE"  # the spokesman speaks for the ministry
    left = affiliate(2, None)
    assert left["source"]["affiliation"] is None
    assert status() == "CORROBORATED"


def test_source_amend_refusals_carry_their_codes_and_record_nothing(
    server: Server, client: httpx.Client
) -> None:
    outlet = source(client, "Refusal Test Outlet")
    claim_id = claim(client)
    base = {"sourceId": outlet, "expectedVersion": 1, "reason": "a fix"}
    before = position(client)
    refusals = {
        "stale version": {**base, "expectedVersion": 7, "name": "X"},
        "unknown source": {
            **base,
            "sourceId": global_id("Source", uuid4()),
            "name": "X",
        },
        "not a source id": {**base, "sourceId": claim_id, "name": "X"},
        "unknown affiliation": {**base, "affiliationId": global_id("Source", uuid4())},
        "affiliated with itself": {**base, "affiliationId": outlet},
        "blank reason": {**base, "reason": "   ", "name": "X"},
        "null name": {**base, "name": None},
        "null kind": {**base, "kind": None},
        "same name": {**base, "name": "Refusal Test Outlet"},
    }
    found = {why: code(client, "amendSource", data) for why, data in refusals.items()}
    assert found == {
        "stale version": "VERSION_CONFLICT",
        "unknown source": "SOURCE_NOT_FOUND",
        "not a source id": "BAD_USER_INPUT",
        "unknown affiliation": "SOURCE_NOT_FOUND",
        "affiliated with itself": "BAD_USER_INPUT",
        "blank reason": "BAD_USER_INPUT",
        "null name": "BAD_USER_INPUT",
        "null kind": "BAD_USER_INPUT",
        "same name": "NOTHING_TO_CHANGE",
    }
    rename = {**base, "name": "X"}
    assert code(client, "amendSource", rename, key=READER_KEY) == "FORBIDDEN"
    assert code(client, "amendSource", rename, key=None) == "UNAUTHENTICATED"
    assert recorded_since(server, before) == []


# ---- stances -------------------------------------------------------------


def test_amending_a_stance_rewrites_how_it_was_recorded(client: httpx.Client) -> None:
    """An amend is our own entry fix: no new revision, and every reading,
    whatever its reported basis, shows the fixed entry."""
    origin = source(client, "An amend origin")
    teller = source(client, "An amend teller")
    claim_id = claim(client)
    recorded = stance(client, claim_id, 1, [origin])
    amended = ok(
        client,
        "amendStance",
        {
            "claimId": claim_id,
            "expectedVersion": 2,
            "stanceId": recorded["stanceId"],
            "quote": "It happened, twice.",
            "chain": [origin, teller],
            "reported": {"precision": "DAY", "start": "2023-10-20"},
            "independent": True,
            "note": "second paragraph",
            "document": {
                "title": "Examples",
                "publisher": "Gazette",
                "published": "2023-10-21",
            },
            "reason": "entered from the wrong paragraph",
        },
    )
    (fixed,) = nodes(amended["claim"]["stances"])
    assert fixed == {
        "stanceId": recorded["stanceId"],
        "kind": "AFFIRMS",
        "quote": "It happened, twice.",
        "note": "second paragraph",
        "document": {
            "title": "Examples",
            "publisher": "Gazette",
            "published": "2023-10-21",
        },
        "independent": True,
        "inForce": True,
        "reported": {"start": "2023-10-20"},
        "revised": None,
        "chain": [
            {"source": {"name": "An amend origin"}},
            {"source": {"name": "An amend teller"}},
        ],
    }
    read = gql(client, STANCE_READ, {"id": claim_id, "by": "2023-10-21"})["data"]
    assert nodes(read["claim"]["asOf"]["stances"]) == [
        {
            "kind": "AFFIRMS",
            "quote": "It happened, twice.",
            "reported": {"start": "2023-10-20"},
            "revised": None,
        }
    ]
    assert nodes(read["claim"]["history"]) == [
        {
            "type": "Claim.StanceAmended",
            "reason": "entered from the wrong paragraph",
        }
    ]
    disputed = ok(
        client,
        "amendStance",
        {
            "claimId": claim_id,
            "expectedVersion": 3,
            "stanceId": recorded["stanceId"],
            "kind": "DISPUTES",
            "reason": "we misread it: they dispute it",
        },
    )
    assert disputed["claim"]["status"]["value"] == "DISPUTED"


def test_correcting_a_stance_adds_a_revision_from_its_date(
    client: httpx.Client,
) -> None:
    """A correction is the source's own: before its date the stance reads as
    first said, from it on as corrected."""
    outlet = source(client, "A correcting outlet")
    claim_id = claim(client)
    recorded = stance(client, claim_id, 1, [outlet])
    corrected = ok(
        client,
        "correctStance",
        {
            "claimId": claim_id,
            "expectedVersion": 2,
            "stanceId": recorded["stanceId"],
            "kind": "QUALIFIES",
            "quote": "It may have happened.",
            "reported": {"precision": "DAY", "start": "2023-11-05"},
            "reason": "the outlet's correction",
        },
    )
    (now,) = nodes(corrected["claim"]["stances"])
    assert (now["kind"], now["quote"]) == ("QUALIFIES", "It may have happened.")
    assert (now["reported"], now["revised"]) == (
        {"start": "2023-10-27"},
        {"start": "2023-11-05"},
    )
    assert corrected["claim"]["status"]["value"] == "UNATTESTED"

    before = gql(client, STANCE_READ, {"id": claim_id, "by": "2023-11-01"})
    as_of = before["data"]["claim"]["asOf"]
    assert as_of["status"] == {"value": "SINGLE_SOURCE"}
    assert nodes(as_of["stances"]) == [
        {
            "kind": "AFFIRMS",
            "quote": "It happened.",
            "reported": {"start": "2023-10-27"},
            "revised": None,
        }
    ]
    assert nodes(before["data"]["claim"]["history"]) == [
        {
            "type": "Claim.StanceCorrected",
            "reason": "the outlet's correction",
        }
    ]


@pytest.fixture
def two_stances(client: httpx.Client) -> tuple[str, str, str, str]:
    """A claim (at version 4) with one stance in force and one retracted."""
    outlet = source(client, f"Stance refusal outlet {next(FRESH)}")
    claim_id = claim(client)
    kept = stance(client, claim_id, 1, [outlet])["stanceId"]
    gone = stance(client, claim_id, 2, [outlet], quote="Also.")["stanceId"]
    retract = {
        "claimId": claim_id,
        "expectedVersion": 3,
        "stanceId": gone,
        "reason": "withdrawn",
        "reported": {"precision": "DAY", "start": "2023-10-30"},
    }
    body = gql(
        client,
        """mutation($input: RetractStanceInput!) {
        retractStance(input: $input) { version } }""",
        {"input": retract},
        key=EDITOR_KEY,
    )
    assert body["data"]["retractStance"]["version"] == 4
    return outlet, claim_id, kept, gone


def test_stance_amend_refusals_carry_their_codes_and_record_nothing(
    server: Server, client: httpx.Client, two_stances: tuple[str, str, str, str]
) -> None:
    outlet, claim_id, kept, _ = two_stances
    base = {
        "claimId": claim_id,
        "expectedVersion": 4,
        "stanceId": kept,
        "reason": "fix",
    }
    before = position(client)
    refusals = {
        "stale version": {**base, "expectedVersion": 3, "quote": "New."},
        "unknown stance": {**base, "stanceId": str(uuid4()), "quote": "New."},
        "malformed stance id": {**base, "stanceId": "nope", "quote": "New."},
        "unknown claim": {
            **base,
            "claimId": global_id("Claim", uuid4()),
            "quote": "N.",
        },
        "unknown source in chain": {**base, "chain": [global_id("Source", uuid4())]},
        "a source twice in chain": {**base, "chain": [outlet, outlet]},
        "null chain": {**base, "chain": None},
        "null kind": {**base, "kind": None},
        "blank quote": {**base, "quote": "  "},
        "blank reason": {**base, "reason": " ", "quote": "New."},
        "same quote": {**base, "quote": "It happened."},
    }
    found = {why: code(client, "amendStance", data) for why, data in refusals.items()}
    assert found == {
        "stale version": "VERSION_CONFLICT",
        "unknown stance": "STANCE_NOT_FOUND",
        "malformed stance id": "BAD_USER_INPUT",
        "unknown claim": "CLAIM_NOT_FOUND",
        "unknown source in chain": "SOURCE_NOT_FOUND",
        "a source twice in chain": "BAD_USER_INPUT",
        "null chain": "BAD_USER_INPUT",
        "null kind": "BAD_USER_INPUT",
        "blank quote": "BAD_USER_INPUT",
        "blank reason": "BAD_USER_INPUT",
        "same quote": "NOTHING_TO_CHANGE",
    }
    assert recorded_since(server, before) == []


def test_stance_correction_refusals_carry_their_codes_and_record_nothing(
    server: Server, client: httpx.Client, two_stances: tuple[str, str, str, str]
) -> None:
    _, claim_id, kept, gone = two_stances
    base = {
        "claimId": claim_id,
        "expectedVersion": 4,
        "stanceId": kept,
        "reason": "their correction",
        "reported": {"precision": "DAY", "start": "2023-11-02"},
    }
    before = position(client)
    refusals = {
        "stale version": {**base, "expectedVersion": 2, "quote": "New."},
        "unknown stance": {**base, "stanceId": str(uuid4()), "quote": "New."},
        "retracted stance": {**base, "stanceId": gone, "quote": "New."},
        "blank reason": {**base, "reason": "", "quote": "New."},
        "same kind": {**base, "kind": "AFFIRMS"},
    }
    found = {why: code(client, "correctStance", data) for why, data in refusals.items()}
    assert found == {
        "stale version": "VERSION_CONFLICT",
        "unknown stance": "STANCE_NOT_FOUND",
        "retracted stance": "STANCE_ALREADY_RETRACTED",
        "blank reason": "BAD_USER_INPUT",
        "same kind": "NOTHING_TO_CHANGE",
    }
    assert recorded_since(server, before) == []


def test_claim_edit_refusals_carry_their_codes_and_record_nothing(
    server: Server, client: httpx.Client
) -> None:
    claim_id = ok(
        client, "proposeClaim", {"text": "An edited claim.", "about": ["Examples"]}
    )["claim"]["id"]
    other = claim(client)
    linked = ok(
        client,
        "linkClaims",
        {
            "claimId": claim_id,
            "expectedVersion": 1,
            "targetId": other,
            "kind": "REFINES",
        },
    )
    at = {"claimId": claim_id, "expectedVersion": linked["version"]}
    reason = {**at, "reason": "entry fix"}
    before = position(client)
    refusals = {
        ("correctClaimWording", "same wording"): {**reason, "text": "An edited claim."},
        ("correctClaimWording", "blank wording"): {**reason, "text": "   "},
        ("amendClaim", "null about"): {**reason, "about": None},
        ("amendClaim", "null occurred"): {**reason, "occurred": None},
        ("amendClaim", "blank entity"): {**reason, "about": [" "]},
        ("amendClaim", "same about"): {**reason, "about": ["Examples"]},
        ("linkClaims", "same link again"): {**at, "targetId": other, "kind": "REFINES"},
        ("linkClaims", "unknown target"): {
            **at,
            "targetId": global_id("Claim", uuid4()),
            "kind": "REFINES",
        },
        ("withdrawLink", "unknown link"): {**reason, "linkId": str(uuid4())},
    }
    found = {why: code(client, field, data) for (field, why), data in refusals.items()}
    assert found == {
        "same wording": "NOTHING_TO_CHANGE",
        "blank wording": "BAD_USER_INPUT",
        "null about": "BAD_USER_INPUT",
        "null occurred": "BAD_USER_INPUT",
        "blank entity": "BAD_USER_INPUT",
        "same about": "NOTHING_TO_CHANGE",
        "same link again": "ALREADY_EXISTS",
        "unknown target": "CLAIM_NOT_FOUND",
        "unknown link": "LINK_NOT_FOUND",
    }
    assert recorded_since(server, before) == []
