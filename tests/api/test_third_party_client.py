"""An unmodified third-party client (the Python `gql` package) reads and writes,
validating its documents against our schema as fetched by introspection."""

from __future__ import annotations

from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXTransport

from tests.fakes import EDITOR_KEY, Server


def client_for(server: Server, key: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = HTTPXTransport(url=f"{server.url}/graphql", headers=headers, timeout=30)
    return Client(transport=transport, fetch_schema_from_transport=True)


def test_gql_client_reads_with_a_fetched_schema(server: Server) -> None:
    with client_for(server) as session:
        query = """query Beirut($key: String!) { claim(key: $key) {
            status { value } stances
              { edges { node { kind chain { source { name } } } } } } }"""
        result: dict[str, Any] = session.execute(
            GraphQLRequest(
                query,
                variable_values={"key": "quds-force-approved-attack-at-beirut-meeting"},
            )
        )
    assert result["claim"]["status"]["value"] == "CONTESTED"


def test_gql_client_writes_and_sees_error_codes(server: Server) -> None:
    propose = """mutation Propose($input: ProposeClaimInput!) {
        proposeClaim(input: $input) { version claim { id } } }"""

    def proposal(text: str) -> GraphQLRequest:
        return GraphQLRequest(propose, variable_values={"input": {"text": text}})

    with client_for(server, EDITOR_KEY) as session:
        written = session.execute(proposal("Written by gql."))
    assert written["proposeClaim"]["version"] == 1
    with client_for(server) as session, pytest.raises(TransportQueryError) as caught:
        session.execute(proposal("No key."))
    assert caught.value.errors is not None
    assert caught.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
