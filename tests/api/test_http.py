"""The API over real HTTP, against the real server process on a SQLite file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import EDITOR_KEY, READER_KEY, Server, error_codes, gql, nodes

BEIRUT = "quds-force-approved-attack-at-beirut-meeting"
KATHMANDU = "NPT-05:45"  # POSIX TZ: local time is UTC+05:45; needs no tz database

SOURCES = "{ sources(first: 100) { edges { node { id key } } } }"
CLAIM_VERSION = "query($key: String!) { claim(key: $key) { id version } }"
PROPOSE = """
mutation($input: ProposeClaimInput!) {
  proposeClaim(input: $input) { version position replayed claim { id key text } }
}"""
RECORD_STANCE = """
mutation($input: RecordStanceInput!) {
  recordStance(input: $input) {
    version position replayed stanceId
    claim { status { value } stances { edges { node { kind source { name } } } } }
  }
}"""
WHO_DISPUTES = """
query($key: String!) {
  claim(key: $key) {
    text
    status { value ruleVersion }
    stances(kinds: [DISPUTES, DENIES, NO_EVIDENCE]) { edges { node {
      kind quote chain { role source { name anonymous descriptor } }
    } } }
    asOf(basis: {reportedBy: "2023-10-20", reportedCertain: false}) {
      status { value }
    }
  }
}"""


def claim_state(client: httpx.Client, key: str = BEIRUT) -> dict[str, Any]:
    body = gql(client, CLAIM_VERSION, {"key": key})
    claim: dict[str, Any] = body["data"]["claim"]
    return claim


def source_id(client: httpx.Client, key: str) -> str:
    body = gql(client, SOURCES)
    return str(next(s["id"] for s in nodes(body["data"]["sources"]) if s["key"] == key))


def test_health_reports_the_log_position(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["position"] >= 38


def test_the_served_api_lists_the_seed_claims(client: httpx.Client) -> None:
    body = gql(client, "{ claims(first: 50) { totalCount edges { node { key } } } }")
    keys = [e["node"]["key"] for e in body["data"]["claims"]["edges"]]
    assert BEIRUT in keys
    assert body["data"]["claims"]["totalCount"] >= 9


def test_who_disputes_the_beirut_meeting_over_http(client: httpx.Client) -> None:
    claim = gql(client, WHO_DISPUTES, {"key": BEIRUT})["data"]["claim"]
    (dispute,) = nodes(claim["stances"])
    assert dispute["kind"] == "DISPUTES"
    assert [h["source"]["name"] for h in dispute["chain"]] == [
        "Senior US officials and others",
        "Ukrainska Pravda",
    ]
    assert [h["role"] for h in dispute["chain"]] == ["ORIGIN", "TELLER"]
    assert claim["asOf"]["status"]["value"] == "CONTESTED"


PAGE = """query($after: String, $first: Int!, $status: ClaimStatus, $entity: String) {
    claims(first: $first, after: $after, status: $status, entity: $entity) {
        totalCount edges { node { id } }
        pageInfo { hasNextPage endCursor hasPreviousPage startCursor } } }"""


@pytest.mark.parametrize(
    "only",
    [{}, {"status": "SINGLE_SOURCE"}, {"entity": "Hamas"}],
    ids=["all", "by-status", "by-entity"],
)
def test_cursor_pages_walk_every_claim_once(
    client: httpx.Client, only: dict[str, str]
) -> None:
    whole = gql(client, PAGE, {"first": 100, **only})["data"]["claims"]
    assert not whole["pageInfo"]["hasNextPage"]
    everything = [e["node"]["id"] for e in whole["edges"]]
    assert len(everything) == whole["totalCount"] > 2  # more than one page of 2

    seen: list[str] = []
    after = None
    while True:
        page = gql(client, PAGE, {"first": 2, "after": after, **only})["data"]["claims"]
        assert page["totalCount"] == whole["totalCount"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)), "a claim came back on two pages"
    assert seen == everything  # every claim, in the order of one big page


BACKWARD = """query($last: Int, $before: String, $status: ClaimStatus) {
  claims(last: $last, before: $before, status: $status) { totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


@pytest.mark.parametrize(
    "only", [{}, {"status": "SINGLE_SOURCE"}], ids=["all", "by-status"]
)
def test_pages_walked_backwards_give_every_claim_once(
    client: httpx.Client, only: dict[str, str]
) -> None:
    whole = gql(client, PAGE, {"first": 100, **only})["data"]["claims"]
    everything = [e["node"]["id"] for e in whole["edges"]]

    seen: list[str] = []
    before = None
    first_page = True
    while True:
        page = gql(client, BACKWARD, {"last": 2, "before": before, **only})
        claims = page["data"]["claims"]
        info = claims["pageInfo"]
        assert info["hasNextPage"] is not first_page
        seen = [e["node"]["id"] for e in claims["edges"]] + seen
        assert info["startCursor"] == claims["edges"][0]["cursor"]
        assert info["endCursor"] == claims["edges"][-1]["cursor"]
        first_page = False
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
    assert seen == everything


def test_a_forward_page_says_whether_claims_come_before_it(
    client: httpx.Client,
) -> None:
    one = gql(client, PAGE, {"first": 2})["data"]["claims"]["pageInfo"]
    two = gql(client, PAGE, {"first": 2, "after": one["endCursor"]})
    info = two["data"]["claims"]["pageInfo"]
    assert one["hasPreviousPage"] is False
    assert info["hasPreviousPage"] is True
    assert info["startCursor"] is not None


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 2, "last": 2}, "last"),
        ({"last": 1000}, "last"),
        ({"last": -1}, "last"),
        ({"last": 2, "before": "not-a-cursor"}, "before"),
    ],
)
def test_bad_backward_pages_are_bad_input(
    client: httpx.Client, variables: dict[str, Any], field: str
) -> None:
    query = """query($first: Int, $last: Int, $before: String) {
      claims(first: $first, last: $last, before: $before) { totalCount } }"""
    body = gql(client, query, variables)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == field


def test_claims_filter_by_status_entity_source_and_text(client: httpx.Client) -> None:
    query = """query($s: ClaimStatus, $e: String, $src: ID, $t: String) {
        claims(status: $s, entity: $e, sourceId: $src, text: $t) {
            edges { node { key } } } }"""

    def keys(**variables: Any) -> set[str]:
        body = gql(client, query, variables)
        return {e["node"]["key"] for e in body["data"]["claims"]["edges"]}

    assert keys(s="UNSUBSTANTIATED") >= {
        "training-was-preparation-for-7-october",
        "iran-directly-involved-in-attack",
    }
    assert BEIRUT in keys(e="Hezbollah")
    assert keys(src=source_id(client, "israeli-army")) == {
        "iran-helped-hamas-before-war",
        "iran-helps-hamas-with-intelligence-now",
    }
    assert keys(t="Beirut") == {BEIRUT}
    assert keys(t="meeting beirut") == {BEIRUT}


def test_claims_by_affiliation_dates_and_order(client: httpx.Client) -> None:
    query = """query($src: ID, $aff: Boolean!, $from: Date, $to: Date,
                     $order: ClaimOrder!, $desc: Boolean!) {
        claims(sourceId: $src, includeAffiliated: $aff, occurredFrom: $from,
               occurredTo: $to, orderBy: $order, descending: $desc, first: 100) {
            totalCount edges { cursor node { key occurred { start } } } } }"""
    defaults = {"aff": False, "order": "PROPOSED", "desc": False}

    def claims(**variables: Any) -> dict[str, Any]:
        body = gql(client, query, {**defaults, **variables})
        assert "errors" not in body, body
        found: dict[str, Any] = body["data"]["claims"]
        return found

    government = source_id(client, "us-government")
    alone = claims(src=government)
    affiliated = claims(src=government, aff=True)
    assert affiliated["totalCount"] > alone["totalCount"]
    newest = claims(order="OCCURRED", desc=True)["edges"]
    starts = [e["node"]["occurred"]["start"] for e in newest]
    known = [s for s in starts if s is not None]
    assert known == sorted(known, reverse=True)
    october = claims(**{"from": "2023-10-07", "to": "2023-10-07"})
    assert (
        0 < october["totalCount"] < alone["totalCount"] + affiliated["totalCount"] + 99
    )


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ("includeAffiliated: true", "includeAffiliated"),
        ('occurredFrom: "2023-10-08", occurredTo: "2023-10-07"', "occurredTo"),
        ('reportedFrom: "2023-10-08", reportedTo: "2023-10-07"', "reportedTo"),
    ],
)
def test_lists_that_cannot_hold_anything_are_bad_input(
    client: httpx.Client, arguments: str, field: str
) -> None:
    body = gql(client, f"{{ claims({arguments}) {{ totalCount }} }}")
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == field


def test_a_cursor_from_another_order_is_bad_input(client: httpx.Client) -> None:
    page = gql(
        client, "{ claims(first: 1, orderBy: LAST_CHANGED) { pageInfo { endCursor } } }"
    )
    cursor = page["data"]["claims"]["pageInfo"]["endCursor"]
    body = gql(
        client,
        "query($c: String) { claims(after: $c) { totalCount } }",
        {"c": cursor},
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "LAST_CHANGED" in body["errors"][0]["message"]


def test_a_write_without_a_key_is_refused(client: httpx.Client) -> None:
    before = client.get("/healthz").json()["position"]
    body = gql(client, PROPOSE, {"input": {"text": "Unauthorised claim."}})
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None
    assert client.get("/healthz").json()["position"] == before


def test_a_reader_key_cannot_write(client: httpx.Client) -> None:
    body = gql(client, PROPOSE, {"input": {"text": "Reader claim."}}, key=READER_KEY)
    assert error_codes(body) == ["FORBIDDEN"]


def test_a_query_nested_50_levels_is_refused(client: httpx.Client) -> None:
    inner = "id"
    for _ in range(25):
        inner = f"linkedFrom {{ edges {{ node {{ fromClaim {{ {inner} }} }} }} }}"
    response = client.post(
        "/graphql", json={"query": f'{{ claim(key: "{BEIRUT}") {{ {inner} }} }}'}
    )
    assert response.status_code == 200
    assert error_codes(response.json()) == ["QUERY_TOO_DEEP"]


def test_fragment_fan_out_is_refused_without_expanding_it(server: Server) -> None:
    fragments = ["fragment F0 on Query { position }"]
    fragments += [
        f"fragment F{i} on Query {{ ...F{i - 1} a{i}: position ...F{i - 1} }}"
        for i in range(1, 31)
    ]
    document = "query { ...F30 }\n" + "\n".join(fragments)
    # The bound guards against a hang; the answer comes in milliseconds.
    with httpx.Client(base_url=server.url, timeout=10) as http:
        response = http.post("/graphql", json={"query": document})
    assert response.status_code == 200
    assert error_codes(response.json()) == ["TOO_MANY_ALIASES"]


def test_too_many_aliases_are_refused(client: httpx.Client) -> None:
    aliases = " ".join(f"p{i}: position" for i in range(40))
    response = client.post("/graphql", json={"query": f"{{ {aliases} }}"})
    assert error_codes(response.json()) == ["TOO_MANY_ALIASES"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"[1, 2]", 400, "BAD_REQUEST"),
        (b"null", 400, "BAD_REQUEST"),
        (b'{"query": "{ position }", "variables": [1]}', 400, "BAD_REQUEST"),
        (b'{"query": 5}', 400, "BAD_REQUEST"),
        (b"{}", 400, "BAD_REQUEST"),
        (b"\xff\xfe\x00", 400, "BAD_REQUEST"),
        (b"[" * 100_000 + b"]" * 100_000, 413, "REQUEST_TOO_LARGE"),
        (b"[" * 1000 + b"]" * 1000, 400, "BAD_REQUEST"),
        (b"{not json", 400, "BAD_REQUEST"),
    ],
)
def test_malformed_bodies_are_client_errors_with_codes(
    client: httpx.Client, body: bytes, status: int, code: str
) -> None:
    response = client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert error_codes(response.json()) == [code]
    assert "Traceback" not in response.text


def test_refused_requests_say_why_in_json(client: httpx.Client) -> None:
    mutation = 'mutation { proposeClaim(input: {text: "x"}) { version } }'
    refusals = {
        "mutation over GET": client.get("/graphql", params={"query": mutation}),
        "wrong method": client.put("/graphql", json={"query": "{ position }"}),
        "wrong content type": client.post(
            "/graphql", content=b"{ position }", headers={"content-type": "text/xml"}
        ),
    }
    for what, response in refusals.items():
        assert 400 <= response.status_code < 500, what
        body = response.json()
        assert body["errors"][0]["message"], what
        assert body["errors"][0]["extensions"]["code"], what
    assert error_codes(refusals["wrong method"].json()) == ["METHOD_NOT_ALLOWED"]
    slash = client.post("/graphql/", json={"query": "{ position }"})
    assert (slash.status_code, error_codes(slash.json())) == (404, ["NOT_FOUND"])


def test_syntax_and_validation_errors_carry_codes(client: httpx.Client) -> None:
    assert error_codes(client.post("/graphql", json={"query": "{"}).json()) == [
        "GRAPHQL_PARSE_FAILED"
    ]
    body = client.post("/graphql", json={"query": "{ nope }"}).json()
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    body = gql(client, "query($k: String!) { claim(key: $k) { id } }", {"k": 5})
    assert error_codes(body) == ["BAD_USER_INPUT"]


def test_unknown_and_malformed_ids_have_codes(client: httpx.Client) -> None:
    query = "query($id: ID!) { claim(id: $id) { text } }"
    unknown = "Q2xhaW06MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAx"
    assert error_codes(gql(client, query, {"id": unknown})) == ["CLAIM_NOT_FOUND"]
    assert error_codes(gql(client, query, {"id": "not-an-id"})) == ["BAD_USER_INPUT"]


def test_node_resolves_claims_and_sources(client: httpx.Client) -> None:
    claim_id = claim_state(client)["id"]
    query = """query($id: ID!) { node(id: $id) { __typename id
        ... on Claim { key } ... on Source { name } } }"""
    node = gql(client, query, {"id": claim_id})["data"]["node"]
    assert (node["__typename"], node["key"]) == ("Claim", BEIRUT)
    wsj = gql(client, query, {"id": source_id(client, "wsj")})["data"]["node"]
    assert (wsj["__typename"], wsj["name"]) == ("Source", "The Wall Street Journal")


def test_two_writers_with_the_same_version_one_wins(server: Server) -> None:
    async def both() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            state = (
                await http.post(
                    "/graphql",
                    json={
                        "query": CLAIM_VERSION,
                        "variables": {"key": "iranian-leaders-surprised"},
                    },
                )
            ).json()["data"]["claim"]
            sources = await http.post("/graphql", json={"query": SOURCES})
            wsj = next(
                s["id"]
                for s in nodes(sources.json()["data"]["sources"])
                if s["key"] == "wsj"
            )

            def attempt(quote: str) -> Any:
                variables = {
                    "input": {
                        "claimId": state["id"],
                        "expectedVersion": state["version"],
                        "kind": "AFFIRMS",
                        "chain": [wsj],
                        "quote": quote,
                        "reported": {"precision": "DAY", "start": "2023-10-27"},
                    }
                }
                return http.post(
                    "/graphql",
                    json={"query": RECORD_STANCE, "variables": variables},
                    headers={"Authorization": f"Bearer {EDITOR_KEY}"},
                )

            responses = await asyncio.gather(attempt("first"), attempt("second"))
            return [r.json() for r in responses]

    results = asyncio.run(both())
    winners = [r for r in results if r.get("data") and r["data"]["recordStance"]]
    losers = [error_codes(r) for r in results if r.get("errors")]
    assert len(winners) == 1
    assert losers == [["VERSION_CONFLICT"]]


def test_a_retried_mutation_is_recorded_once(client: httpx.Client) -> None:
    variables = {"input": {"text": "A claim sent twice.", "idempotencyKey": "twice-1"}}
    first = gql(client, PROPOSE, variables, key=EDITOR_KEY)["data"]["proposeClaim"]
    second = gql(client, PROPOSE, variables, key=EDITOR_KEY)["data"]["proposeClaim"]
    assert (first["replayed"], second["replayed"]) == (False, True)
    assert second["position"] == first["position"]
    assert second["claim"]["id"] == first["claim"]["id"]
    body = gql(client, 'query { claims(text: "A claim sent twice") { totalCount } }')
    assert body["data"]["claims"]["totalCount"] == 1


def test_editing_a_claim_end_to_end(client: httpx.Client) -> None:
    created = gql(
        client,
        PROPOSE,
        {
            "input": {
                "text": "The meeting was in Damascus.",
                "key": "meeting-in-damascus",
                "about": ["Quds Force"],
                "occurred": {"precision": "DAY", "start": "2023-10-02"},
            }
        },
        key=EDITOR_KEY,
    )["data"]["proposeClaim"]
    claim_id = created["claim"]["id"]
    stance = gql(
        client,
        RECORD_STANCE,
        {
            "input": {
                "claimId": claim_id,
                "expectedVersion": 1,
                "kind": "AFFIRMS",
                "chain": [source_id(client, "wsj")],
                "reported": {"precision": "DAY", "start": "2023-10-30"},
                "quote": "in Damascus",
            }
        },
        key=EDITOR_KEY,
    )["data"]["recordStance"]
    assert stance["claim"]["status"]["value"] == "SINGLE_SOURCE"

    retract = """mutation($input: RetractStanceInput!) {
        retractStance(input: $input) { version claim { status { value } } } }"""
    retracted = gql(
        client,
        retract,
        {
            "input": {
                "claimId": claim_id,
                "expectedVersion": 2,
                "stanceId": stance["stanceId"],
                "reason": "WSJ withdrew it",
                "reported": {"precision": "DAY", "start": "2023-11-02"},
            }
        },
        key=EDITOR_KEY,
    )
    assert retracted["data"]["retractStance"]["claim"]["status"]["value"] == "RETRACTED"

    fix = """mutation($input: CorrectClaimWordingInput!) {
        correctClaimWording(input: $input) { version claim { text } } }"""
    fixed = gql(
        client,
        fix,
        {
            "input": {
                "claimId": claim_id,
                "expectedVersion": 3,
                "text": "The meeting took place in Damascus.",
                "reason": "typo in our entry",
            }
        },
        key=EDITOR_KEY,
    )["data"]["correctClaimWording"]
    assert fixed == {
        "version": 4,
        "claim": {"text": "The meeting took place in Damascus."},
    }

    history = gql(
        client,
        """query($id: ID!) { claim(id: $id) {
        history { edges { node { version type actor reason } } }
        diff(fromVersion: 1, toVersion: 4) { path before after } } }""",
        {"id": claim_id},
    )
    claim = history["data"]["claim"]
    events = nodes(claim["history"])
    assert [(h["type"], h["actor"], h["reason"]) for h in events] == [
        ("Claim.Proposed", "alice", None),
        ("Claim.StanceRecorded", "alice", None),
        ("Claim.StanceRetracted", "alice", "WSJ withdrew it"),
        ("Claim.WordingCorrected", "alice", "typo in our entry"),
    ]
    text_change = next(c for c in claim["diff"] if c["path"] == "text")
    assert text_change["before"] == "The meeting was in Damascus."


def test_business_rule_errors_carry_codes(client: httpx.Client) -> None:
    state = claim_state(client, "iran-regularly-trains-militants")
    link = """mutation($input: LinkClaimsInput!) {
        linkClaims(input: $input) { version } }"""
    body = gql(
        client,
        link,
        {
            "input": {
                "claimId": state["id"],
                "expectedVersion": state["version"],
                "targetId": state["id"],
                "kind": "SAME_AS",
            }
        },
        key=EDITOR_KEY,
    )
    assert error_codes(body) == ["SELF_LINK"]
    body = gql(
        client,
        link,
        {
            "input": {
                "claimId": state["id"],
                "expectedVersion": state["version"] + 5,
                "targetId": claim_state(client)["id"],
                "kind": "CORROBORATES",
            }
        },
        key=EDITOR_KEY,
    )
    assert error_codes(body) == ["VERSION_CONFLICT"]


def test_as_of_a_recorded_time_without_offset_is_read_as_utc(tmp_path: Path) -> None:
    """The server runs in a zone 5 h 45 min east of UTC; a naive time between
    two recorded events is read as UTC, not as the server's local time (which
    would put it before the claim existed)."""
    server = Server(
        db=tmp_path / "c.sqlite", env={"TZ": KATHMANDU, "CLAIMS_LOAD_SEEDS": "0"}
    ).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            claim = gql(
                http, PROPOSE, {"input": {"text": "Said first."}}, key=EDITOR_KEY
            )["data"]["proposeClaim"]["claim"]
            fix = """mutation($input: CorrectClaimWordingInput!) {
                correctClaimWording(input: $input) { version } }"""
            reworded = {
                "claimId": claim["id"],
                "expectedVersion": 1,
                "text": "Said second.",
                "reason": "typo",
            }
            assert "errors" not in gql(http, fix, {"input": reworded}, key=EDITOR_KEY)
            read = """query($id: ID!, $at: DateTime!) { claim(id: $id) {
                history { edges { node { recordedAt } } }
                asOf(basis: {recordedAt: $at}) { version text } } }"""

            def as_of(at: str) -> Any:
                body = gql(http, read, {"id": claim["id"], "at": at})
                return body["data"]["claim"]

            first, second = (
                datetime.fromisoformat(h["recordedAt"])
                for h in nodes(as_of("2000-01-01T00:00:00Z")["history"])
            )
            assert first < second
            naive = first.astimezone(UTC).replace(tzinfo=None).isoformat()
            assert as_of(naive)["asOf"] == {"version": 1, "text": "Said first."}
            # The same wall time read in the server's own zone is another
            # instant, before the claim existed: the two readings differ.
            assert as_of(naive + "+05:45")["asOf"] is None
    finally:
        server.stop()


def test_versions_outside_the_claim_are_bad_input(client: httpx.Client) -> None:
    query = """query($key: String!, $v: Int!) {
        claim(key: $key) { asOf(basis: {version: $v}) { version } } }"""
    assert error_codes(gql(client, query, {"key": BEIRUT, "v": 0})) == [
        "BAD_USER_INPUT"
    ]
    assert error_codes(gql(client, query, {"key": BEIRUT, "v": 999})) == [
        "BAD_USER_INPUT"
    ]
    diff = """query($key: String!) { claim(key: $key) {
        diff(fromVersion: 3, toVersion: 2) { path } } }"""
    assert error_codes(gql(client, diff, {"key": BEIRUT})) == ["BAD_USER_INPUT"]


def test_several_operations_need_an_operation_name(client: httpx.Client) -> None:
    document = "query A { position } query B { claims { totalCount } }"
    unnamed = client.post("/graphql", json={"query": document}).json()
    assert error_codes(unnamed) == ["OPERATION_NAME_REQUIRED"]
    assert unnamed["data"] is None
    named = client.post("/graphql", json={"query": document, "operationName": "B"})
    assert named.json()["data"]["claims"]["totalCount"] >= 9


def test_documents_over_the_token_limit_are_refused(client: httpx.Client) -> None:
    fields = " ".join(["position"] * 2500)
    body = client.post("/graphql", json={"query": f"{{ {fields} }}"}).json()
    assert error_codes(body) == ["QUERY_TOO_LARGE"]


def test_a_query_multiplying_store_reads_is_stopped_at_its_budget(
    client: httpx.Client,
) -> None:
    histories = " ".join(
        f"h{i}: history(first: 100) {{ edges {{ node {{ version }} }} }}"
        for i in range(29)
    )
    query = (
        f"{{ sources(first: 100) {{ edges {{ node {{ statements(first: 100) "
        f"{{ edges {{ node {{ claim {{ {histories} }} }} }} }} }} }} }} }}"
    )
    body = client.post("/graphql", json={"query": query}).json()
    assert error_codes(body) == ["QUERY_TOO_COSTLY"]
    assert body["data"] is None
    as_ofs = " ".join(
        f"a{i}: asOf(basis: {{version: 1}}) "
        f"{{ history(first: 100) {{ edges {{ node {{ version }} }} }} }}"
        for i in range(29)
    )
    nullable = f"{{ claims(first: 100) {{ edges {{ node {{ {as_ofs} }} }} }} }}"
    body = client.post("/graphql", json={"query": nullable}).json()
    assert (error_codes(body), body["data"]) == (["QUERY_TOO_COSTLY"], None)
    everyday = (
        "{ claims(first: 100) { edges { node { "
        "history { edges { node { version } } } } } } }"
    )
    assert "errors" not in client.post("/graphql", json={"query": everyday}).json()


def test_introspection_is_capped_too(client: httpx.Client) -> None:
    inner = "name"
    for _ in range(30):
        inner = f"ofType {{ {inner} }}"
    body = client.post(
        "/graphql", json={"query": f"{{ __schema {{ types {{ {inner} }} }} }}"}
    ).json()
    assert error_codes(body) == ["QUERY_TOO_DEEP"]
    standard = client.post(
        "/graphql",
        json={
            "query": "{ __schema { types { name fields { name type { name "
            "ofType { name ofType { name ofType { name } } } } } } } }"
        },
    ).json()
    assert "errors" not in standard


def test_every_event_type_has_a_working_mutation(client: httpx.Client) -> None:
    def write(field: str, data: dict[str, Any]) -> dict[str, Any]:
        name = field[0].upper() + field[1:]
        query = f"""mutation($input: {name}Input!) {{ {field}(input: $input) {{
            version replayed {
            "claim { id } stanceId linkId"
            if "Source" not in name
            else "source { id name descriptor affiliation { name } }"
        } }} }}"""
        body = gql(client, query, {"input": data}, key=EDITOR_KEY)
        assert "errors" not in body, body["errors"]
        result: dict[str, Any] = body["data"][field]
        return result

    outlet = write(
        "registerSource",
        {
            "name": "Example Gazette",
            "kind": "OUTLET",
            "key": "example-gazette",
        },
    )
    insider = write(
        "registerSource",
        {
            "name": "An insider",
            "kind": "ANONYMOUS_GROUP",
            "anonymous": True,
            "descriptor": "a person close to the talks",
            "affiliationId": outlet["source"]["id"],
        },
    )
    assert insider["source"]["affiliation"]["name"] == "Example Gazette"
    amended = write(
        "amendSource",
        {
            "sourceId": insider["source"]["id"],
            "expectedVersion": 1,
            "descriptor": "a person present at the talks",
            "reason": "misread the article",
        },
    )
    assert amended["source"]["descriptor"] == "a person present at the talks"

    claim = write("proposeClaim", {"text": "Talks took place."})["claim"]["id"]
    other = write("proposeClaim", {"text": "Talks were planned."})["claim"]["id"]
    recorded = write(
        "recordStance",
        {
            "claimId": claim,
            "expectedVersion": 1,
            "kind": "AFFIRMS",
            "chain": [insider["source"]["id"], outlet["source"]["id"]],
            "reported": {"precision": "MONTH", "start": "2023-11-01"},
            "quote": "They met.",
        },
    )
    assert recorded["linkId"] is None
    stance = recorded["stanceId"]
    write(
        "correctStance",
        {
            "claimId": claim,
            "expectedVersion": 2,
            "stanceId": stance,
            "kind": "QUALIFIES",
            "reason": "the gazette's correction",
            "reported": {"precision": "DAY", "start": "2023-12-01"},
        },
    )
    write(
        "amendStance",
        {
            "claimId": claim,
            "expectedVersion": 3,
            "stanceId": stance,
            "quote": "They met, briefly.",
            "reason": "quote mistyped by us",
        },
    )
    write(
        "amendClaim",
        {
            "claimId": claim,
            "expectedVersion": 4,
            "about": ["Talks"],
            "occurred": {"precision": "YEAR", "start": "2023-01-01"},
            "reason": "entry fix",
        },
    )
    linked = write(
        "linkClaims",
        {
            "claimId": claim,
            "expectedVersion": 5,
            "targetId": other,
            "kind": "REFINES",
        },
    )
    assert linked["stanceId"] is None
    link = linked["linkId"]
    write(
        "withdrawLink",
        {
            "claimId": claim,
            "expectedVersion": 6,
            "linkId": link,
            "reason": "not a refinement",
        },
    )

    body = gql(
        client,
        """query($id: ID!, $src: ID!) {
        claim(id: $id) { about occurred { precision } links { edges { node { kind } } }
          stances { edges { node { kind quote revised { start precision } } } }
          history { edges { node { type reason } } } }
        source(id: $src) {
          statements { edges { node { role claim { id } stance { kind } } } } } }""",
        {"id": claim, "src": outlet["source"]["id"]},
    )
    found = body["data"]
    assert [h["type"] for h in nodes(found["claim"]["history"])] == [
        "Claim.Proposed",
        "Claim.StanceRecorded",
        "Claim.StanceCorrected",
        "Claim.StanceAmended",
        "Claim.Amended",
        "Claim.Linked",
        "Claim.LinkWithdrawn",
    ]
    assert nodes(found["claim"]["stances"]) == [
        {
            "kind": "QUALIFIES",
            "quote": "They met, briefly.",
            "revised": {"start": "2023-12-01", "precision": "DAY"},
        }
    ]
    assert (found["claim"]["about"], nodes(found["claim"]["links"])) == (["Talks"], [])
    assert nodes(found["source"]["statements"]) == [
        {"role": "TELLER", "claim": {"id": claim}, "stance": {"kind": "QUALIFIES"}}
    ]


def test_sources_statements_and_history_are_connections(client: httpx.Client) -> None:
    """Each walked with pageInfo gives what one big page gives; a window is
    checked as the claims' is."""
    walk = """query($after: String) { sources(first: 4, after: $after) {
        totalCount edges { cursor node { key } }
        pageInfo { hasNextPage endCursor hasPreviousPage startCursor } } }"""
    keys: list[str] = []
    after = None
    while True:
        page = gql(client, walk, {"after": after})["data"]["sources"]
        keys += [n["key"] for n in nodes(page)]
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    every = gql(client, SOURCES)["data"]["sources"]
    assert keys == [n["key"] for n in nodes(every)]
    assert len(keys) == page["totalCount"]

    newest = """query($id: ID!) { source(id: $id) {
        statements(last: 2) { edges { node { claim { key } } }
                              pageInfo { hasPreviousPage hasNextPage } } } }"""
    outlet = source_id(client, "ukrainska-pravda")
    found = gql(client, newest, {"id": outlet})["data"]["source"]["statements"]
    assert len(found["edges"]) == 2
    assert found["pageInfo"] == {"hasPreviousPage": True, "hasNextPage": False}

    last_two = """query($key: String!) { claim(key: $key) { version
        history(last: 2) { totalCount edges { node { version } } } } }"""
    claim = gql(client, last_two, {"key": BEIRUT})["data"]["claim"]
    versions = [n["version"] for n in nodes(claim["history"])]
    assert versions == [claim["version"] - 1, claim["version"]]
    assert claim["history"]["totalCount"] == claim["version"]

    for window in ("first: 1, last: 1", "first: 101", "last: -1"):
        body = gql(client, f"{{ sources({window}) {{ totalCount }} }}")
        assert error_codes(body) == ["BAD_USER_INPUT"], window
    wrong = gql(client, '{ sources(after: "bm9wZQ==") { totalCount } }')
    assert error_codes(wrong) == ["BAD_USER_INPUT"]
