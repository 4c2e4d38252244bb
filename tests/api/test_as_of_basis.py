"""One reading, one basis: everything reached from a claim read asOf a recorded
time or a version is read at that same basis (links to and from it and the
claims at their ends, the sources in its chains, their affiliations, the status
judged from them, history, diffs and nested asOf), over HTTP on the seed data,
on both stores."""

from __future__ import annotations

import base64
from typing import Any
from uuid import uuid4

import httpx

from tests.fakes import EDITOR_KEY, error_codes, gql, nodes

BEIRUT = "quds-force-approved-attack-at-beirut-meeting"
SURPRISED = "iranian-leaders-surprised"
REGULAR = "iran-regularly-trains-militants"
DIRECT = "iran-directly-involved-in-attack"

HISTORY = """query($key: String!) { claim(key: $key) {
    id version history(first: 100) { edges { node { version type recordedAt } } } } }"""
SOURCES = "{ sources(first: 100) { edges { node { id key name version } } } }"
PROPOSE = """mutation($in: ProposeClaimInput!) {
    proposeClaim(input: $in) { claim { id key version } } }"""
RECORD = "mutation($in: RecordStanceInput!) { recordStance(input: $in) { version } }"
LINK = "mutation($in: LinkClaimsInput!) { linkClaims(input: $in) { version } }"
WITHDRAW = "mutation($in: WithdrawLinkInput!) { withdrawLink(input: $in) { version } }"
AMEND_SOURCE = """mutation($in: AmendSourceInput!) {
    amendSource(input: $in) { version } }"""
HUGE_SOURCES = base64.urlsafe_b64encode(b"sources:99999999999999999999").decode()
HUGE_CLAIMS = base64.urlsafe_b64encode(b"claims@PROPOSED:99999999999999999999").decode()
ARTICLE_DAY = {"precision": "DAY", "start": "2023-10-26"}

# What a reading shows, and everything reached from it.
READING = """
    version
    basis { recordedAt }
    status { value independentAffirmingVoices { name version } }
    stances { edges { node {
      kind chain { source { name version affiliation { name } } } } } }
    links { edges { node {
      kind toClaim { key version status { value } basis { recordedAt } } } } }
    linkedFrom { edges { node {
      kind fromClaim { key version links { edges { node { kind } } } } } } }
"""


def data(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    body = gql(client, query, variables, key=EDITOR_KEY)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]
    return found


def claim(client: httpx.Client, key: str) -> dict[str, Any]:
    """The claim's id, version, and its whole history as a list."""
    found: dict[str, Any] = data(client, HISTORY, key=key)["claim"]
    return {**found, "history": nodes(found["history"])}


def read_at(
    client: httpx.Client, key: str, basis: dict[str, Any], selection: str = READING
) -> dict[str, Any] | None:
    query = f"""query($key: String!, $basis: AsOf!) {{ claim(key: $key) {{
        asOf(basis: $basis) {{ {selection} }} }} }}"""
    found: dict[str, Any] | None = data(client, query, key=key, basis=basis)["claim"][
        "asOf"
    ]
    return found


def sources(client: httpx.Client) -> dict[str, dict[str, Any]]:
    return {s["key"]: s for s in nodes(data(client, SOURCES)["sources"])}


def link(client: httpx.Client, key: str, target: str, kind: str) -> None:
    found = claim(client, key)
    target_id = claim(client, target)["id"]
    data(
        client,
        LINK,
        **{
            "in": {
                "claimId": found["id"],
                "expectedVersion": found["version"],
                "targetId": target_id,
                "kind": kind,
            }
        },
    )


def propose(client: httpx.Client, text: str) -> str:
    key = f"basis-test-{uuid4().hex[:8]}"
    data(client, PROPOSE, **{"in": {"key": key, "text": text}})
    return key


def affirm(client: httpx.Client, key: str, chain: list[str]) -> None:
    found = claim(client, key)
    data(
        client,
        RECORD,
        **{
            "in": {
                "claimId": found["id"],
                "expectedVersion": found["version"],
                "kind": "AFFIRMS",
                "chain": chain,
                "reported": ARTICLE_DAY,
            }
        },
    )


def incoming(reading: dict[str, Any] | None) -> set[tuple[str, str]]:
    assert reading is not None
    return {(i["fromClaim"]["key"], i["kind"]) for i in nodes(reading["linkedFrom"])}


def test_links_recorded_after_a_basis_are_absent_at_it(client: httpx.Client) -> None:
    beirut = claim(client, BEIRUT)
    last_of_beirut = beirut["history"][-1]
    linked = next(
        h for h in claim(client, SURPRISED)["history"] if h["type"] == "Claim.Linked"
    )
    # The seeds link "surprised" to Beirut after Beirut's own last event.
    assert last_of_beirut["recordedAt"] < linked["recordedAt"]

    newcomer = propose(client, "A claim proposed after the seeds, linking to Beirut.")
    link(client, newcomer, BEIRUT, "REFINES")
    link(client, REGULAR, BEIRUT, "CORROBORATES")
    surprised = claim(client, SURPRISED)
    (contradicts,) = nodes(
        data(
            client,
            """query($key: String!) {
              claim(key: $key) { links { edges { node { linkId kind } } } } }""",
            key=SURPRISED,
        )["claim"]["links"]
    )
    data(
        client,
        WITHDRAW,
        **{
            "in": {
                "claimId": surprised["id"],
                "expectedVersion": surprised["version"],
                "linkId": contradicts["linkId"],
                "reason": "a test takes it back",
            }
        },
    )

    now = read_at(client, BEIRUT, {})
    at_beirut_time = read_at(
        client, BEIRUT, {"recordedAt": last_of_beirut["recordedAt"]}
    )
    at_its_version = read_at(client, BEIRUT, {"version": last_of_beirut["version"]})
    at_link_time = read_at(client, BEIRUT, {"recordedAt": linked["recordedAt"]})

    assert incoming(now) == {(newcomer, "REFINES"), (REGULAR, "CORROBORATES")}
    assert incoming(at_beirut_time) == set()
    assert incoming(at_its_version) == set()
    # Withdrawn since, but in force then; the claim it comes from is read then.
    assert incoming(at_link_time) == {(SURPRISED, "CONTRADICTS")}
    assert at_link_time is not None
    (source_then,) = nodes(at_link_time["linkedFrom"])
    assert source_then["fromClaim"]["version"] == linked["version"]
    assert nodes(source_then["fromClaim"]["links"]) == [{"kind": "CONTRADICTS"}]


def test_the_claim_at_the_end_of_a_link_is_read_at_the_same_basis(
    client: httpx.Client,
) -> None:
    before = claim(client, BEIRUT)["history"][-1]
    target_before = claim(client, DIRECT)
    affirm(client, DIRECT, [sources(client)["israeli-army"]["id"]])

    now = read_at(client, BEIRUT, {})
    then = read_at(client, BEIRUT, {"recordedAt": before["recordedAt"]})

    assert now is not None
    assert then is not None
    (now_target,) = [
        t["toClaim"] for t in nodes(now["links"]) if t["kind"] == "REFINES"
    ]
    (then_target,) = [
        t["toClaim"] for t in nodes(then["links"]) if t["kind"] == "REFINES"
    ]
    assert now_target["key"] == then_target["key"] == DIRECT
    assert now_target["version"] == target_before["version"] + 1
    assert now_target["status"]["value"] == "CONTESTED"
    assert then_target["version"] <= target_before["version"]
    assert then_target["status"]["value"] == "UNSUBSTANTIATED"
    assert then_target["basis"]["recordedAt"] == before["recordedAt"]


def test_sources_renamed_and_reaffiliated_later_read_as_they_were(
    client: httpx.Client,
) -> None:
    """Two affirmations from voices that answer to no one in common; then one
    is renamed and put under the other's government."""
    known = sources(client)
    army, ryder = known["israeli-army"], known["patrick-ryder"]
    key = propose(client, "Two governments affirm this, before a source is amended.")
    affirm(client, key, [ryder["id"]])
    affirm(client, key, [army["id"]])
    recorded = claim(client, key)["history"][-1]
    army = sources(client)["israeli-army"]
    data(
        client,
        AMEND_SOURCE,
        **{
            "in": {
                "sourceId": army["id"],
                "expectedVersion": army["version"],
                "name": "Israel Defense Forces (renamed by a test)",
                "affiliationId": known["us-government"]["id"],
                "reason": "a test re-affiliates it",
            }
        },
    )

    now = read_at(client, key, {})
    by_time = read_at(client, key, {"recordedAt": recorded["recordedAt"]})
    by_version = read_at(client, key, {"version": recorded["version"]})

    assert now is not None
    assert now["status"]["value"] == "SINGLE_SOURCE"
    assert [v["name"] for v in now["status"]["independentAffirmingVoices"]] == [
        known["us-government"]["name"]
    ]
    now_army = nodes(now["stances"])[1]["chain"][0]["source"]
    assert now_army["name"] == "Israel Defense Forces (renamed by a test)"
    assert now_army["affiliation"] == {"name": known["us-government"]["name"]}

    for then in (by_time, by_version):
        assert then is not None
        assert then["status"]["value"] == "CORROBORATED"
        voices = {v["name"] for v in then["status"]["independentAffirmingVoices"]}
        assert voices == {known["us-government"]["name"], army["name"]}
        then_army = nodes(then["stances"])[1]["chain"][0]["source"]
        assert then_army == {
            "name": army["name"],
            "version": army["version"],
            "affiliation": None,
        }


def test_a_version_reads_as_the_recorded_time_of_its_event(
    client: httpx.Client,
) -> None:
    for entry in claim(client, BEIRUT)["history"]:
        by_version = read_at(client, BEIRUT, {"version": entry["version"]})
        by_time = read_at(client, BEIRUT, {"recordedAt": entry["recordedAt"]})
        assert by_version is not None
        assert by_version["basis"]["recordedAt"] == entry["recordedAt"]
        assert by_version == by_time, entry


def test_history_diff_and_as_of_under_a_past_reading_see_nothing_later(
    client: httpx.Client,
) -> None:
    at_two = """version basis { version recordedAt }
        history { edges { node { version } } }
        fine: diff(fromVersion: 1, toVersion: 2) { path }
        later: asOf(basis: {recordedAt: "2999-01-01T00:00:00Z"}) {
            version basis { recordedAt } }
        known: asOf(basis: {reportedBy: "2023-10-26"}) { version basis { recordedAt } }
        first: asOf(basis: {version: 1}) { version }"""
    reading = read_at(client, BEIRUT, {"version": 2}, at_two)
    assert reading is not None
    then = reading["basis"]["recordedAt"]
    assert [h["version"] for h in nodes(reading["history"])] == [1, 2]
    assert reading["fine"]
    assert reading["later"] == {"version": 2, "basis": {"recordedAt": then}}
    assert reading["known"] == {"version": 2, "basis": {"recordedAt": then}}
    assert reading["first"] == {"version": 1}

    beyond_diff = "diff(fromVersion: 0, toVersion: 3) { path }"
    beyond_as_of = "asOf(basis: {version: 3}) { version }"
    for beyond in (beyond_diff, beyond_as_of):
        query = f"""query($key: String!) {{ claim(key: $key) {{
            asOf(basis: {{version: 2}}) {{ {beyond} }} }} }}"""
        assert error_codes(gql(client, query, {"key": BEIRUT})) == ["BAD_USER_INPUT"]


def test_a_source_reached_from_a_past_reading_says_what_it_had_said_then(
    client: httpx.Client,
) -> None:
    """At Beirut's version 2 only its affirmation was recorded, and the later
    claims did not exist: the outlet's statements then say so."""
    statements = """stances { edges { node { chain { source { key
        statements { edges { node { claim { key version } stance { kind } } } }
    } } } } }"""
    reading = read_at(client, BEIRUT, {"version": 2}, statements)
    assert reading is not None
    (affirmation,) = nodes(reading["stances"])
    outlet = affirmation["chain"][-1]["source"]
    assert outlet["key"] == "ukrainska-pravda"
    then = nodes(outlet["statements"])
    said = {(s["claim"]["key"], s["stance"]["kind"]) for s in then}
    assert (BEIRUT, "AFFIRMS") in said
    assert (BEIRUT, "DISPUTES") not in said
    assert all(key != SURPRISED for key, _ in said)
    beirut_then = [s["claim"] for s in then if s["claim"]["key"] == BEIRUT]
    assert beirut_then == [{"key": BEIRUT, "version": 2}]

    now = data(
        client,
        """{ sources(first: 100) { edges { node { key
            statements(first: 100) { edges { node { claim { key } stance { kind } } } }
        } } } }""",
    )["sources"]
    (outlet_now,) = [s for s in nodes(now) if s["key"] == "ukrainska-pravda"]
    said_now = {
        (s["claim"]["key"], s["stance"]["kind"])
        for s in nodes(outlet_now["statements"])
    }
    assert {(BEIRUT, "DISPUTES"), (SURPRISED, "AFFIRMS")} <= said_now


def test_a_version_and_a_recorded_time_together_are_refused(
    client: httpx.Client,
) -> None:
    query = """query($key: String!) { claim(key: $key) {
        asOf(basis: {version: 1, recordedAt: "2999-01-01T00:00:00Z"}) { version } } }"""
    assert error_codes(gql(client, query, {"key": BEIRUT})) == ["BAD_USER_INPUT"]


def test_an_answer_s_position_asks_the_same_question_again(
    client: httpx.Client,
) -> None:
    """The position a reading and a list report, given back as asOf, answers
    the same after more writes; a position the log has not reached is
    refused, and a list is not read at a claim's version."""
    single = f"""query($key: String!, $basis: AsOf!) {{ claim(key: $key) {{
        asOf(basis: $basis) {{ basis {{ position }} {READING} }} }} }}"""
    listing = """query($basis: AsOf) { claims(first: 100, asOf: $basis) {
        position totalCount edges { node { key version status { value } } } } }"""
    now = data(client, single, key=BEIRUT, basis={})["claim"]["asOf"]
    everything = data(client, listing, basis=None)["claims"]
    position = now["basis"]["position"]
    assert everything["position"] == position

    affirm(client, BEIRUT, [sources(client)["israeli-army"]["id"]])
    propose(client, "A claim recorded after the answer was given.")

    at = {"position": position}
    again = data(client, single, key=BEIRUT, basis=at)["claim"]["asOf"]
    assert again == now
    assert data(client, listing, basis=at)["claims"] == everything
    assert data(client, single, key=BEIRUT, basis={})["claim"]["asOf"] != now

    beyond = {"position": 10**15}
    for query, variables in ((single, {"key": BEIRUT}), (listing, {})):
        body = gql(client, query, {**variables, "basis": beyond})
        assert error_codes(body) == ["BAD_USER_INPUT"]
    body = gql(client, listing, {"basis": {"version": 1}})
    assert error_codes(body) == ["BAD_USER_INPUT"]


def test_bases_nest_and_malformed_ones_are_refused(client: httpx.Client) -> None:
    """A version read inside a position reads the claims at its links at the
    nested basis; two clocks at once, a negative position, a filtered count
    through a lens, and a cursor beyond any position are the client's error."""
    position = data(client, "{ position }")["position"]
    nested = f"""query($key: String!) {{ claim(key: $key) {{
        asOf(basis: {{position: {position}}}) {{ asOf(basis: {{version: 2}}) {{
            version links {{ edges {{ node {{ toClaim {{ key }} }} }} }}
            linkedFrom {{ edges {{ node {{ fromClaim {{ key }} }} }} }} }} }} }} }}"""
    inner = data(client, nested, key=SURPRISED)["claim"]["asOf"]["asOf"]
    assert inner["version"] == 2

    refused = [
        '{ claims(asOf: {position: 3, recordedAt: "2999-01-01T00:00:00Z"}) '
        "{ position } }",
        "{ claims(asOf: {position: -1}) { position } }",
        '{ claims(status: CONTESTED, asOf: {reportedBy: "2023-10-20"}) '
        "{ totalCount } }",
        # positions beyond 64 bits, in a cursor
        f'{{ sources(after: "{HUGE_SOURCES}") {{ totalCount }} }}',
        f'{{ claims(after: "{HUGE_CLAIMS}") {{ position }} }}',
        f'{{ claims(after: "{HUGE_CLAIMS}", asOf: {{position: 1}}) {{ position }} }}',
    ]
    for query in refused:
        assert error_codes(gql(client, query)) == ["BAD_USER_INPUT"], query
    lens = data(
        client,
        '{ claims(asOf: {reportedBy: "2023-10-20"}) { totalCount } '
        "all: claims { totalCount } }",
    )
    assert lens["claims"]["totalCount"] == lens["all"]["totalCount"]
