"""Every GraphQL example in the README runs, without errors, on the seed data."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.fakes import gql

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
EXAMPLES = re.findall(r"```graphql\n(.*?)```", README, re.DOTALL)


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("query", EXAMPLES)
def test_readme_example_runs(client: httpx.Client, query: str) -> None:
    body = gql(client, query)
    assert "errors" not in body, body["errors"]
    assert body["data"]
