"""Generated queries and mutations, valid and invalid, never make the server
fail: every answer is a GraphQL result or a 4xx, never an internal error."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import hypothesis_graphql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from service.api.schema import schema
from tests.fakes import EDITOR_KEY

SDL = schema.as_str()
SCALARS = {
    "Date": st.dates(min_value=date(1900, 1, 1)).map(
        lambda d: nodes.String(d.isoformat())
    ),
    "DateTime": st.datetimes(
        min_value=datetime(1990, 1, 1),  # noqa: DTZ001 - bounds must be naive
        timezones=st.sampled_from([UTC, None]),
    ).map(lambda d: nodes.String(d.isoformat())),
    "Position": st.integers(min_value=-(2**40), max_value=2**40).map(nodes.Int),
    "JSON": st.integers().map(nodes.Int),
}
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check(client: httpx.Client, document: str) -> None:
    response = client.post(
        "/graphql",
        json={"query": document},
        headers={"Authorization": f"Bearer {EDITOR_KEY}"},
    )
    assert response.status_code in {200, 400, 413}, response.text
    assert "Traceback" not in response.text
    if response.status_code == 200:
        codes = [
            e.get("extensions", {}).get("code")
            for e in response.json().get("errors", [])
        ]
        assert "INTERNAL_SERVER_ERROR" not in codes, response.text
        assert None not in codes, response.text


@FUZZ
@given(document=hypothesis_graphql.from_schema(SDL, custom_scalars=SCALARS))
def test_generated_valid_documents_never_fail_the_server(
    client: httpx.Client, document: str
) -> None:
    check(client, document)


@FUZZ
@given(
    document=hypothesis_graphql.from_schema(
        SDL, custom_scalars=SCALARS, mode=hypothesis_graphql.Mode.NEGATIVE
    )
)
def test_generated_invalid_documents_are_client_errors(
    client: httpx.Client, document: str
) -> None:
    check(client, document)
