"""One text rule and one set of limits for every string the API takes, over
real HTTP on both stores: nothing ill-formed is stored, and every refusal
names its field with BAD_USER_INPUT."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from service.domain.limits import MAX_CHAIN, SOURCE_NAME
from tests.fakes import EDITOR_KEY, error_codes, gql, nodes

BEIRUT = "quds-force-approved-attack-at-beirut-meeting"
LONE_SURROGATE = "\ud800"

PROPOSE = """mutation($input: ProposeClaimInput!) {
  proposeClaim(input: $input) { version claim { id text about } } }"""
REGISTER = """mutation($input: RegisterSourceInput!) {
  registerSource(input: $input) { version source { id name descriptor } } }"""
AMEND_SOURCE = """mutation($input: AmendSourceInput!) {
  amendSource(input: $input) { version source { name anonymous descriptor } } }"""
RECORD = """mutation($input: RecordStanceInput!) {
  recordStance(input: $input) { version stanceId claim { stances
    { edges { node { quote } } } } } }"""
AMEND_STANCE = """mutation($input: AmendStanceInput!) {
  amendStance(input: $input) { version } }"""


def raw_post(client: httpx.Client, body: str, key: str | None = EDITOR_KEY) -> Any:
    """POST a JSON text as it is: json.dumps would escape what we want to send."""
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    response = client.post("/graphql", content=body.encode(), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def raw_post_status(client: httpx.Client, body: str) -> httpx.Response:
    headers = {"content-type": "application/json"}
    return client.post("/graphql", content=body.encode(), headers=headers)


def refused(body: dict[str, Any], field: str) -> None:
    assert "data" not in body or body["data"] is None or not any(body["data"].values())
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert field in error["extensions"]["field"], error


def position(client: httpx.Client) -> int:
    return int(client.get("/healthz").json()["position"])


def source_ids(client: httpx.Client) -> dict[str, str]:
    body = gql(client, "{ sources(first: 100) { edges { node { id key } } } }")
    return {s["key"]: s["id"] for s in nodes(body["data"]["sources"]) if s["key"]}


def new_source(client: httpx.Client, name: str, **extra: Any) -> dict[str, Any]:
    body = gql(
        client,
        REGISTER,
        {"input": {"name": name, "kind": "OUTLET", **extra}},
        EDITOR_KEY,
    )
    assert "errors" not in body, body
    source: dict[str, Any] = body["data"]["registerSource"]["source"]
    return source


@pytest.mark.parametrize(
    ("document", "field"),
    [
        # a variable of a mutation input
        (
            '{"query": "mutation($i: ProposeClaimInput!) { proposeClaim(input: $i)'
            ' { version } }", "variables": {"i": {"text": "Iran \\ud800"}}}',
            "$i.text",
        ),
        # an idempotency key
        (
            '{"query": "mutation($i: ProposeClaimInput!) { proposeClaim(input: $i)'
            ' { version } }", "variables": {"i": {"text": "Fine.",'
            ' "idempotencyKey": "k\\ud800"}}}',
            "$i.idempotencyKey",
        ),
        # a read argument
        (
            '{"query": "query($k: String!) { claim(key: $k) { id } }",'
            ' "variables": {"k": "\\udfff"}}',
            "$k",
        ),
        # an item of a list inside an input
        (
            '{"query": "mutation($i: ProposeClaimInput!) { proposeClaim(input: $i)'
            ' { version } }", "variables": {"i": {"text": "Fine.",'
            ' "about": ["Iran", "\\ud83d"]}}}',
            "$i.about[1]",
        ),
    ],
)
def test_a_lone_surrogate_in_a_variable_is_bad_input_naming_the_field(
    client: httpx.Client, document: str, field: str
) -> None:
    before = position(client)
    body = raw_post(client, document)
    refused(body, field)
    assert position(client) == before


def test_a_lone_surrogate_in_the_document_is_refused_before_it_is_parsed(
    client: httpx.Client,
) -> None:
    escaped_in_json = raw_post_status(
        client, '{"query": "{ claim(key: \\"x\\ud800\\") { id } }"}'
    )
    assert escaped_in_json.status_code == 400
    assert error_codes(escaped_in_json.json()) == ["BAD_REQUEST"]
    assert "body.query" in escaped_in_json.text
    escaped_in_graphql = raw_post(
        client, '{"query": "{ claim(key: \\"x\\\\ud800\\") { id } }"}'
    )
    assert error_codes(escaped_in_graphql) == ["GRAPHQL_PARSE_FAILED"]


@pytest.mark.parametrize(
    "text",
    [
        "Iran\u0000 trained them.",  # NUL
        "Iran\u0007 trained them.",  # BEL
        "Iran\u009b trained them.",  # a C1 control
        "Iran\ntrained them.",  # a claim's wording is one line
        "\u200b\u200d\ufeff",  # only zero-width characters: blank
        " \u00a0\u2003 ",  # only spaces of other kinds: blank
        "\u3164\u115f\u2800",  # Hangul fillers, the Braille blank
        "\u034f\u0301",  # a grapheme joiner and a lone combining mark
        "Iran\uffff",  # a noncharacter
    ],
)
def test_control_characters_and_invisible_text_are_refused(
    client: httpx.Client, text: str
) -> None:
    before = position(client)
    body = gql(client, PROPOSE, {"input": {"text": text}}, EDITOR_KEY)
    refused(body, "text")
    assert position(client) == before


def test_texts_are_stored_trimmed_and_nfc_normalised(client: httpx.Client) -> None:
    decomposed = "Qa\u0065\u0301ani  was there."  # e + combining acute
    body = gql(
        client,
        PROPOSE,
        {"input": {"text": f"  {decomposed} ", "about": [" Esmail Qaani "]}},
        EDITOR_KEY,
    )
    claim = body["data"]["proposeClaim"]["claim"]
    assert claim["text"] == "Qa\u00e9ani  was there."
    assert claim["about"] == ["Esmail Qaani"]


def test_a_quote_may_span_lines_and_keep_a_persian_joiner(
    client: httpx.Client,
) -> None:
    claim = gql(client, PROPOSE, {"input": {"text": "A quoted claim."}}, EDITOR_KEY)
    claim_id = claim["data"]["proposeClaim"]["claim"]["id"]
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # ZWNJ inside
    quote = f"First line.\r\nSecond line: {persian}."
    body = gql(
        client,
        RECORD,
        {
            "input": {
                "claimId": claim_id,
                "expectedVersion": 1,
                "kind": "AFFIRMS",
                "chain": [source_ids(client)["wsj"]],
                "reported": {"precision": "UNKNOWN"},
                "quote": quote,
            }
        },
        EDITOR_KEY,
    )
    stances = nodes(body["data"]["recordStance"]["claim"]["stances"])
    assert stances[-1]["quote"] == f"First line.\nSecond line: {persian}."


def test_amend_source_applies_the_limits_registration_applies(
    client: httpx.Client,
) -> None:
    source = new_source(client, "Limits Gazette")
    too_long = "n" * (SOURCE_NAME.max_length + 1)
    changes: list[tuple[str, dict[str, Any]]] = [
        ("name", {"name": too_long}),
        ("name", {"name": "   "}),
        ("name", {"name": "\u200b"}),
        ("reason", {"name": "Fine", "reason": "r" * 10_000}),
        ("descriptor", {"anonymous": True}),
        ("descriptor", {"anonymous": True, "descriptor": " "}),
    ]
    for name_field, change in changes:
        data = {
            "sourceId": source["id"],
            "expectedVersion": 1,
            "reason": "a fix",
            **change,
        }
        refused(gql(client, AMEND_SOURCE, {"input": data}, EDITOR_KEY), name_field)
    registered = gql(
        client,
        REGISTER,
        {"input": {"name": too_long, "kind": "OUTLET"}},
        EDITOR_KEY,
    )
    refused(registered, "name")


def test_an_affiliation_cycle_is_refused_when_it_would_be_recorded(
    client: httpx.Client,
) -> None:
    top = new_source(client, "Cycle Top")
    middle = new_source(client, "Cycle Middle", affiliationId=top["id"])
    bottom = new_source(client, "Cycle Bottom", affiliationId=middle["id"])
    before = position(client)
    for target in (middle, bottom):
        body = gql(
            client,
            AMEND_SOURCE,
            {
                "input": {
                    "sourceId": top["id"],
                    "expectedVersion": 1,
                    "affiliationId": target["id"],
                    "reason": "would loop",
                }
            },
            EDITOR_KEY,
        )
        refused(body, "affiliationId")
    assert position(client) == before


def test_amend_stance_applies_the_chain_limit_record_stance_applies(
    client: httpx.Client,
) -> None:
    hops = [new_source(client, f"Hop {i}")["id"] for i in range(MAX_CHAIN + 2)]
    claim = gql(client, PROPOSE, {"input": {"text": "A long chain."}}, EDITOR_KEY)
    claim_id = claim["data"]["proposeClaim"]["claim"]["id"]
    stance = {
        "claimId": claim_id,
        "expectedVersion": 1,
        "kind": "AFFIRMS",
        "reported": {"precision": "UNKNOWN"},
    }
    refused(
        gql(client, RECORD, {"input": {**stance, "chain": hops}}, EDITOR_KEY),
        "chain",
    )
    ok = gql(client, RECORD, {"input": {**stance, "chain": hops[:2]}}, EDITOR_KEY)
    stance_id = ok["data"]["recordStance"]["stanceId"]
    amend = {
        "claimId": claim_id,
        "expectedVersion": 2,
        "stanceId": stance_id,
        "chain": hops,
        "reason": "more hops",
    }
    refused(gql(client, AMEND_STANCE, {"input": amend}, EDITOR_KEY), "chain")
    refused(
        gql(
            client,
            AMEND_STANCE,
            {"input": {**amend, "chain": [hops[0], hops[0]]}},
            EDITOR_KEY,
        ),
        "chain",
    )


def test_filters_take_the_limits_of_the_fields_they_search(
    client: httpx.Client,
) -> None:
    for argument in ("entity", "text"):
        body = gql(
            client,
            f"query($v: String!) {{ claims({argument}: $v) {{ totalCount }} }}",
            {"v": "x" * 60_000},
        )
        assert error_codes(body) == ["BAD_USER_INPUT"]
        assert body["errors"][0]["extensions"]["field"] == argument


def test_a_lone_surrogate_outside_the_variables_is_a_bad_request(
    client: httpx.Client,
) -> None:
    response = raw_post_status(
        client, '{"query": "query A { __typename }", "operationName": "\\ud800"}'
    )
    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_REQUEST"]
    assert "body.operationName" in response.json()["errors"][0]["message"]


def test_a_malformed_claim_key_is_bad_input_not_a_missing_claim(
    client: httpx.Client,
) -> None:
    for key in ("UPPER", "x" * 101, "with space"):
        body = gql(client, "query($k: String!) { claim(key: $k) { id } }", {"k": key})
        refused(body, "key")


def test_requests_that_record_the_same_thing_share_an_idempotency_key(
    client: httpx.Client,
) -> None:
    """The fingerprint is of the request as it will be recorded: surrounding
    spaces and Unicode normalisation do not make a retry a different request."""
    first = gql(
        client,
        PROPOSE,
        {"input": {"text": "Caf\u00e9 talks.", "idempotencyKey": "same-thing"}},
        EDITOR_KEY,
    )
    again = gql(
        client,
        "mutation($input: ProposeClaimInput!) { proposeClaim(input: $input)"
        " { replayed claim { id } } }",
        {"input": {"text": " Cafe\u0301 talks. ", "idempotencyKey": "same-thing"}},
        EDITOR_KEY,
    )
    assert again["data"]["proposeClaim"]["replayed"] is True
    assert (
        again["data"]["proposeClaim"]["claim"]["id"]
        == first["data"]["proposeClaim"]["claim"]["id"]
    )


def test_numbers_too_long_to_parse_are_client_errors(client: httpx.Client) -> None:
    """Python parses at most 4,300 digits; past that the parsers would fail."""
    literal = gql(client, "{ claims(first: " + "9" * 5000 + ") { totalCount } }")
    assert error_codes(literal) == ["BAD_USER_INPUT"]
    in_json = raw_post_status(
        client, '{"query": "{ __typename }", "variables": {"n": ' + "9" * 5000 + "}}"
    )
    assert in_json.status_code == 400
    assert error_codes(in_json.json()) == ["BAD_REQUEST"]


def test_a_document_too_costly_to_validate_says_so(client: httpx.Client) -> None:
    body = gql(client, "{ " + "__typename " * 800 + "}")
    assert error_codes(body) == ["QUERY_TOO_LARGE"]
    assert "too much work to validate" in body["errors"][0]["message"]


def test_an_empty_affiliation_id_is_bad_input_not_no_affiliation(
    client: httpx.Client,
) -> None:
    body = gql(
        client,
        REGISTER,
        {"input": {"name": "Empty Affiliation", "kind": "OUTLET", "affiliationId": ""}},
        EDITOR_KEY,
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]
