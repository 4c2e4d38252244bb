"""A claim's own lists are Relay connections: its stances, the links from it
and the links to it. Walked either way they are the whole list, in the order
recorded; filters keep cursors in place and totalCount counts what they keep;
a cursor holds while the list grows; a page is priced by its size. Over HTTP,
on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.fakes import EDITOR_KEY, Server, error_codes, gql, nodes

DAY = {"precision": "DAY", "start": "2023-10-26"}
SOURCES = "{ sources(first: 100) { edges { node { id key } } } }"
PROPOSE = """mutation($in: ProposeClaimInput!) {
    proposeClaim(input: $in) { claim { id version } } }"""
RECORD = """mutation($in: RecordStanceInput!) {
    recordStance(input: $in) { version stanceId } }"""
RETRACT = """mutation($in: RetractStanceInput!) {
    retractStance(input: $in) { version } }"""
LINK = """mutation($in: LinkClaimsInput!) {
    linkClaims(input: $in) { version linkId } }"""
WITHDRAW = """mutation($in: WithdrawLinkInput!) {
    withdrawLink(input: $in) { version } }"""
PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount"
STANCES = f"""query($id: ID!, $first: Int, $after: String, $last: Int,
    $before: String, $kinds: [StanceKind!], $retracted: Boolean! = true) {{
  claim(id: $id) {{ stances(first: $first, after: $after, last: $last,
      before: $before, kinds: $kinds, includeRetracted: $retracted) {{
    {PAGE} edges {{ cursor node {{ stanceId kind quote inForce }} }} }} }} }}"""
LINKED_FROM = f"""query($id: ID!, $first: Int, $after: String, $last: Int,
    $before: String) {{
  claim(id: $id) {{ linkedFrom(first: $first, after: $after, last: $last,
      before: $before) {{
    {PAGE} edges {{ cursor node {{ linkId fromClaim {{ key }} }} }} }} }} }}"""
LINKS = f"""query($id: ID!, $first: Int, $after: String) {{
  claim(id: $id) {{ links(first: $first, after: $after) {{
    {PAGE} edges {{ cursor node {{ linkId toClaim {{ key }} }} }} }} }} }}"""
STANCE_COUNT = 25


def data(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    body = gql(client, query, variables, key=EDITOR_KEY)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]
    return found


class Claim:
    """A claim written through the API, tracking its version."""

    def __init__(self, client: httpx.Client, text: str) -> None:
        self.client = client
        self.key = f"pages-{uuid4().hex[:10]}"
        made = data(client, PROPOSE, **{"in": {"key": self.key, "text": text}})
        self.id: str = made["proposeClaim"]["claim"]["id"]
        self.version: int = made["proposeClaim"]["claim"]["version"]

    def write(self, mutation: str, name: str, **fields: Any) -> dict[str, Any]:
        given = {"claimId": self.id, "expectedVersion": self.version, **fields}
        done: dict[str, Any] = data(self.client, mutation, **{"in": given})[name]
        self.version = done["version"]
        return done

    def record(self, kind: str, quote: str, source: str) -> str:
        done = self.write(
            RECORD, "recordStance", kind=kind, chain=[source], quote=quote, reported=DAY
        )
        return str(done["stanceId"])

    def link_to(self, target: Claim) -> str:
        done = self.write(LINK, "linkClaims", targetId=target.id, kind="REFINES")
        return str(done["linkId"])


def source_ids(client: httpx.Client) -> list[str]:
    return [s["id"] for s in nodes(data(client, SOURCES)["sources"])]


def page(client: httpx.Client, query: str, claim: Claim, **asked: Any) -> Any:
    found = data(client, query, id=claim.id, **asked)["claim"]
    return next(iter(found.values()))


def walk(
    client: httpx.Client, query: str, claim: Claim, size: int, **asked: Any
) -> tuple[list[Any], list[Any]]:
    """The whole list walked forward with first/after, and back with
    last/before, a page of ``size`` at a time."""
    forward: list[Any] = []
    cursor = None
    while True:
        found = page(client, query, claim, first=size, after=cursor, **asked)
        forward += nodes(found)
        if not found["pageInfo"]["hasNextPage"]:
            break
        cursor = found["pageInfo"]["endCursor"]
    back: list[Any] = []
    cursor = None
    while True:
        found = page(client, query, claim, last=size, before=cursor, **asked)
        back = nodes(found) + back
        if not found["pageInfo"]["hasPreviousPage"]:
            break
        cursor = found["pageInfo"]["startCursor"]
    return forward, back


@pytest.fixture(scope="module")
def crowded(server: Server) -> Iterator[tuple[Claim, list[dict[str, Any]]]]:
    """A claim with many stances, every third disputing, every fifth retracted:
    the claim and its stances as recorded."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield _crowd(client)


def _crowd(client: httpx.Client) -> tuple[Claim, list[dict[str, Any]]]:
    claim = Claim(client, "A claim many sources speak to.")
    sources = source_ids(client)
    recorded: list[dict[str, Any]] = []
    for i in range(STANCE_COUNT):
        kind = "DISPUTES" if i % 3 == 0 else "AFFIRMS"
        quote = f"Statement {i}."
        stance_id = claim.record(kind, quote, sources[i % len(sources)])
        recorded.append({"stanceId": stance_id, "kind": kind, "quote": quote})
    for i in range(0, STANCE_COUNT, 5):
        claim.write(
            RETRACT,
            "retractStance",
            stanceId=recorded[i]["stanceId"],
            reason="withdrawn by the outlet",
            reported=DAY,
        )
    for i, stance in enumerate(recorded):
        stance["inForce"] = i % 5 != 0
    return claim, recorded


def test_a_claim_s_stances_walked_either_way_are_every_stance_in_recorded_order(
    client: httpx.Client, crowded: tuple[Claim, list[dict[str, Any]]]
) -> None:
    claim, recorded = crowded
    forward, back = walk(client, STANCES, claim, 7)
    assert forward == recorded
    assert back == recorded
    first = page(client, STANCES, claim)
    assert len(nodes(first)) == 20  # the default page
    assert first["totalCount"] == STANCE_COUNT
    assert first["pageInfo"]["hasNextPage"]


def test_filters_keep_cursors_in_place_and_count_what_they_keep(
    client: httpx.Client, crowded: tuple[Claim, list[dict[str, Any]]]
) -> None:
    claim, recorded = crowded
    disputes = [s for s in recorded if s["kind"] == "DISPUTES" and s["inForce"]]
    asked = {"kinds": ["DISPUTES"], "retracted": False}
    forward, back = walk(client, STANCES, claim, 2, **asked)
    assert forward == back == disputes
    assert page(client, STANCES, claim, **asked)["totalCount"] == len(disputes)
    # a cursor of the unfiltered list is a place in the filtered one too
    tenth = page(client, STANCES, claim, first=10)["pageInfo"]["endCursor"]
    after_tenth = nodes(page(client, STANCES, claim, after=tenth, **asked))
    assert after_tenth == [s for s in disputes if recorded.index(s) >= 10]


def test_a_stance_cursor_holds_while_stances_are_added(client: httpx.Client) -> None:
    claim = Claim(client, "A claim that keeps being spoken to.")
    sources = source_ids(client)
    for i in range(6):
        claim.record("AFFIRMS", f"Early {i}.", sources[i])
    head = page(client, STANCES, claim, first=4)
    cursor = head["pageInfo"]["endCursor"]
    claim.record("DISPUTES", "Later.", sources[0])
    rest = nodes(page(client, STANCES, claim, after=cursor))
    assert [s["quote"] for s in rest] == ["Early 4.", "Early 5.", "Later."]
    assert page(client, STANCES, claim, last=1)["totalCount"] == 7


def test_links_to_a_claim_page_in_the_order_recorded_and_withdrawals_leave_them(
    client: httpx.Client,
) -> None:
    target = Claim(client, "A claim others refine.")
    linkers = [Claim(client, f"Refinement {i}.") for i in range(5)]
    link_ids = [linker.link_to(target) for linker in linkers]
    forward, back = walk(client, LINKED_FROM, target, 2)
    expected = [
        {"linkId": link_id, "fromClaim": {"key": linker.key}}
        for link_id, linker in zip(link_ids, linkers, strict=True)
    ]
    assert forward == back == expected
    second = page(client, LINKED_FROM, target, first=2)["pageInfo"]["endCursor"]
    linkers[3].write(WITHDRAW, "withdrawLink", linkId=link_ids[3], reason="mistaken")
    later = page(client, LINKED_FROM, target, after=second)
    assert nodes(later) == [expected[2], expected[4]]
    assert later["totalCount"] == 4


def test_links_from_a_claim_page_in_the_order_recorded(client: httpx.Client) -> None:
    claim = Claim(client, "A claim that refines many.")
    targets = [Claim(client, f"Refined {i}.") for i in range(4)]
    link_ids = [claim.link_to(target) for target in targets]
    first = page(client, LINKS, claim, first=3)
    assert [link["linkId"] for link in nodes(first)] == link_ids[:3]
    assert first["totalCount"] == 4
    rest = page(client, LINKS, claim, first=3, after=first["pageInfo"]["endCursor"])
    assert [link["toClaim"]["key"] for link in nodes(rest)] == [targets[3].key]
    assert not rest["pageInfo"]["hasNextPage"]


def test_a_cursor_of_one_claim_list_is_refused_by_another(
    client: httpx.Client, crowded: tuple[Claim, list[dict[str, Any]]]
) -> None:
    claim, _ = crowded
    cursor = page(client, STANCES, claim, first=1)["pageInfo"]["endCursor"]
    body = gql(client, LINKS, {"id": claim.id, "after": cursor}, key=EDITOR_KEY)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "malformed cursor" in body["errors"][0]["message"]
    both = {"id": claim.id, "first": 1, "last": 1}
    assert error_codes(gql(client, STANCES, both, key=EDITOR_KEY)) == ["BAD_USER_INPUT"]


def test_a_page_of_stances_is_priced_by_its_size(
    client: httpx.Client, crowded: tuple[Claim, list[dict[str, Any]]]
) -> None:
    """What a page of stances reaches (here each origin's statements) is
    priced per stance on the page, not per stance the claim may hold."""
    claim, _ = crowded
    query = """query($id: ID!, $first: Int) { claim(id: $id) {
      stances(first: $first) { edges { node { source {
        statements(first: 1) { edges { node { role } } } } } } } } }"""

    def estimated(first: int) -> int:
        body = gql(client, query, {"id": claim.id, "first": first}, key=EDITOR_KEY)
        assert "errors" not in body, body
        return int(body["extensions"]["cost"]["estimated"])

    one, twenty = estimated(1), estimated(20)
    assert one < twenty
    assert (twenty - one) == 19 * (estimated(2) - one)
