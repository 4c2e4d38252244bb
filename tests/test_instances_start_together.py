"""Several service instances started at once on one new PostgreSQL database:
each creates the tables it needs if missing, and none fails for having raced
another to it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import postgres_schema

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = 8

# Each waits for the same moment, then opens the ledger and its views (every
# table of the library's and of the views').
OPEN = """
import sys, time
from service.application import ClaimsLedger
from service.settings import Settings
from service.views.reads import Views
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
ledger = ClaimsLedger(env=Settings(database_url=sys.argv[1]).ledger_env())
Views(ledger).close()
ledger.close()
"""


@pytest.mark.postgres
def test_instances_started_at_once_on_a_new_database_all_open_it() -> None:
    with postgres_schema() as url:
        at = time.time() + 3.0  # all started and imported by then
        children = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN, url, str(at)],
                cwd=ROOT,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(INSTANCES)
        ]
        failures = [
            error
            for child in children
            for error in [child.communicate(timeout=120)[1]]
            if child.returncode != 0
        ]
        assert failures == []
