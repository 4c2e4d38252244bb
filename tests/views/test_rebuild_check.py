"""`claims-ledger rebuild --check` builds every view afresh from the log
beside the live ones, compares them row by row, and names what differs; it
changes nothing. On both stores."""

from __future__ import annotations

import os
import subprocess
import sys

from service.application import ClaimsLedger
from service.views.check import check_views
from service.views.reads import Views
from tests.conftest import Store


def tables(ledger: ClaimsLedger) -> set[str]:
    views = Views(ledger)
    try:
        with views.database.reading() as cursor:
            if views.database.postgres:
                rows = cursor.all(
                    "SELECT tablename FROM pg_tables WHERE schemaname = "
                    "current_schema()"
                )
            else:
                rows = cursor.all("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(name) for (name,) in rows}
    finally:
        views.close()


def test_live_views_equal_their_rebuild_and_the_check_leaves_nothing_behind(
    seeded: ClaimsLedger,
) -> None:
    views = Views(seeded)
    views.catch_up()
    views.close()
    before = tables(seeded)
    report = check_views(seeded)
    assert report.differences == []
    assert report.events == report.position > 40
    assert tables(seeded) == before  # the fresh tables are dropped


def test_a_view_row_changed_by_sql_is_reported(
    seeded: ClaimsLedger, store: Store
) -> None:
    views = Views(seeded)
    views.catch_up()
    with views.database.writing() as cursor:
        cursor.execute(
            "UPDATE {view_claims} SET status = 'CORROBORATED' "
            "WHERE status = 'CONTESTED'"
        )
    views.close()
    report = check_views(seeded)
    changed = {d.table for d in report.differences}
    assert "view_claims" in changed
    (claims,) = [d for d in report.differences if d.table == "view_claims"]
    assert claims.only_live
    assert claims.only_rebuilt
    assert any("CORROBORATED" in repr(row) for row in claims.only_live)
    assert any("CONTESTED" in repr(row) for row in claims.only_rebuilt)

    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMS_")}
    if store.settings.database_url:
        env["CLAIMS_DATABASE_URL"] = store.settings.database_url
    else:
        env["CLAIMS_DB"] = store.settings.db_path
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "rebuild", "--check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "DIFFERS view_claims:" in done.stderr
    assert "Traceback" not in done.stderr
