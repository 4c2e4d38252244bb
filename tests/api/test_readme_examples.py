"""Every GraphQL example in the README runs, without errors, on the seed data."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes import gql

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
EXAMPLES = re.findall(r"```graphql\n(.*?)```", README, re.DOTALL)


def covered(client: httpx.Client, wait: float = 30.0) -> None:
    """Wait until a signed checkpoint covers the seeds (the audit tree
    follows the log on a task of its own, just after start)."""
    deadline = time.monotonic() + wait
    while client.get("/audit/checkpoint").status_code != 200:
        assert time.monotonic() < deadline, "no checkpoint was signed"
        time.sleep(0.05)


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("query", EXAMPLES)
def test_readme_example_runs(client: httpx.Client, query: str) -> None:
    covered(client)  # the Auditors example proves seed events in a checkpoint
    body = gql(client, query)
    assert "errors" not in body, body["errors"]
    assert body["data"]
