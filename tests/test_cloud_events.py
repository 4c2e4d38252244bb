"""Every ledger event reaches integrators as a valid CloudEvents 1.0 document
whose ``data`` is valid against the event's schema in schema/events/, read
from the log directly and through the GraphQL ``events`` query; the internal
streams (idempotency records, the affiliation guard) never do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from service.application import ClaimsLedger
from service.domain.affiliations import Affiliations
from service.domain.claim import Claim
from service.domain.idempotency import IdempotencyRecord
from service.domain.source import Source
from service.export import event_classes, event_type_name
from service.feed.cloud import cloud_event_dict
from service.feed.follow import follow
from service.feed.log_reader import LogReader
from service.settings import Settings
from tests.fakes import Server, gql
from tests.test_schema_files import exercise_every_event_type

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema" / "events"
PREFIX = "org.claims-ledger."
LEDGER_TYPES = {event_type_name(c) for c in event_classes((Claim, Source))}
INTERNAL_TYPES = {
    event_type_name(c) for c in event_classes((Affiliations, IdempotencyRecord))
}

ATTRIBUTE_NAME = "^[a-z0-9]{1,20}$"
"""CloudEvents 1.0: attribute names are lower-case ASCII letters and digits,
at most 20 of them."""

ENVELOPE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "A CloudEvents 1.0 event in the structured JSON format, as the "
    "ledger sends it",
    "type": "object",
    "required": [
        "specversion",
        "id",
        "source",
        "type",
        "subject",
        "time",
        "datacontenttype",
        "dataschema",
        "position",
        "data",
    ],
    "properties": {
        "specversion": {"const": "1.0"},
        "id": {"type": "string", "minLength": 1},
        "source": {"type": "string", "minLength": 1, "format": "uri-reference"},
        "type": {"type": "string", "minLength": 1},
        "subject": {"type": "string", "minLength": 1},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"const": "application/json"},
        "dataschema": {"type": "string", "minLength": 1, "format": "uri"},
        # An extension attribute; the spec's Integer is 32 bits, signed.
        "position": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        "data": {"type": "object"},
    },
    # (The uri formats are checked only where jsonschema has a URI parser;
    # dataschema is held to the event schema's $id below in any case.)
    # Every other member is an extension attribute: a legal name, and a value
    # of one of the spec's types as JSON carries it (a string, an integer or
    # a boolean); never data_base64, since data is JSON.
    "propertyNames": {"anyOf": [{"const": "data"}, {"pattern": ATTRIBUTE_NAME}]},
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {"type": "boolean"},
            {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
        ]
    },
}
jsonschema.Draft202012Validator.check_schema(ENVELOPE)


def event_schema(type_name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / f"{type_name}.json").read_text())
    return schema


def check_cloud_event(document: dict[str, Any]) -> str:
    """The document is a valid CloudEvent of a ledger event and its data is
    valid against that event's schema; its event type."""
    formats = jsonschema.FormatChecker()
    jsonschema.validate(document, ENVELOPE, format_checker=formats)

    # The SDK reads it back as a v1.0 event, and writes the same document.
    event = JSONFormat().read(None, json.dumps(document))
    assert isinstance(event, CloudEvent)
    assert event.get_extension("position") == document["position"]
    assert event.get_data() == document["data"]
    assert json.loads(JSONFormat().write(event)) == document

    type_name: str = document["type"].removeprefix(PREFIX)
    assert document["type"] == PREFIX + type_name
    assert type_name in LEDGER_TYPES, type_name
    schema = event_schema(type_name)
    assert document["dataschema"] == schema["$id"]
    jsonschema.validate(document["data"], schema, format_checker=formats)

    kind, _, stream = document["subject"].partition("/")
    assert kind == type_name.partition(".")[0].lower() + "s"
    assert document["id"] == f"{stream}/{document['streamversion']}"
    return type_name


def stored(ledger: ClaimsLedger) -> dict[int, str]:
    """Every stored event's position and type, internal streams included."""
    return {
        n.id: n.topic.rpartition(":")[2]
        for n in ledger.recorder.select_notifications(start=1, limit=100_000)
    }


def check_the_feed(documents: list[dict[str, Any]], ledger: ClaimsLedger) -> None:
    """The feed is every ledger event in the store, in position order, each a
    valid CloudEvent; every type appears, and no internal stream's."""
    everything = stored(ledger)
    internal = {p for p, kind in everything.items() if kind in INTERNAL_TYPES}
    assert internal, "the store holds idempotency records and affiliations"
    assert set(everything.values()) == LEDGER_TYPES | INTERNAL_TYPES

    types = [check_cloud_event(document) for document in documents]
    positions = [document["position"] for document in documents]
    assert positions == sorted(set(everything) - internal)
    assert types == [everything[p] for p in positions]
    assert set(types) == LEDGER_TYPES
    assert len({document["id"] for document in documents}) == len(documents)


def test_every_event_type_is_every_kind_the_store_holds() -> None:
    assert LEDGER_TYPES.isdisjoint(INTERNAL_TYPES)
    assert {
        event_type_name(c) for c in event_classes()
    } == LEDGER_TYPES | INTERNAL_TYPES
    assert {p.stem for p in SCHEMA_DIR.glob("*.json")} == (
        LEDGER_TYPES | INTERNAL_TYPES
    )


def test_every_event_read_from_the_log_is_a_valid_cloud_event(
    seeded: ClaimsLedger,
) -> None:
    exercise_every_event_type(seeded)
    documents = [cloud_event_dict(e) for e in follow(LogReader(seeded), 0)]
    check_the_feed(documents, seeded)


def test_a_bad_envelope_is_refused_by_the_envelope_schema(
    seeded: ClaimsLedger,
) -> None:
    """The checks above can fail: each of these is not a valid CloudEvent."""
    (entry, *_) = follow(LogReader(seeded), 0)
    good = cloud_event_dict(entry)
    jsonschema.validate(good, ENVELOPE)
    for broken in (
        {**good, "specversion": "0.3"},
        {**good, "position": str(good["position"])},
        {**good, "Position": good["position"]},
        {**good, "data_base64": ""},
        {k: v for k, v in good.items() if k != "dataschema"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, ENVELOPE)


EVENTS = """
query Log($after: Position, $first: Int!) {
  events(after: $after, first: $first) {
    edges { node { position type data cloudEvent } }
    pageInfo { hasNextPage endPosition }
  }
}"""


def server_ledger(server: Server) -> ClaimsLedger:
    """A ledger on the server's own store: another process writing to it."""
    settings = Settings(
        db_path=str(server.db), database_url=server.env.get("CLAIMS_DATABASE_URL")
    )
    return ClaimsLedger(env=settings.ledger_env())


@pytest.fixture(scope="module")
def exercised(server: Server) -> Iterator[ClaimsLedger]:
    """The server's store after one write of every kind beyond the seeds."""
    ledger = server_ledger(server)
    exercise_every_event_type(ledger)
    yield ledger
    ledger.close()


def test_every_event_of_the_events_query_is_a_valid_cloud_event(
    client: httpx.Client, exercised: ClaimsLedger
) -> None:
    nodes: list[dict[str, Any]] = []
    after = 0
    while True:
        body = gql(client, EVENTS, {"after": after, "first": 100})
        assert "errors" not in body, body
        page = body["data"]["events"]
        nodes += [edge["node"] for edge in page["edges"]]
        after = page["pageInfo"]["endPosition"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    documents = [node["cloudEvent"] for node in nodes]
    check_the_feed(documents, exercised)
    for node, document in zip(nodes, documents, strict=True):
        assert node["position"] == document["position"]
        assert PREFIX + node["type"] == document["type"]
        assert node["data"] == document["data"]
        jsonschema.validate(
            node["data"],
            event_schema(node["type"]),
            format_checker=jsonschema.FormatChecker(),
        )
