"""A misconfigured service refuses to start with one line saying what to fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BAD_SETTINGS = {
    "CLAIMS_API_KEYS": ("not-a-key-entry", "secret=principal:role"),
    "CLAIMS_API_KEYS_FILE": ("/nonexistent/keys", "CLAIMS_API_KEYS_FILE"),
    "CLAIMS_READS": ("keys", "CLAIMS_READS"),
    "CLAIMS_SEEDS_DIR": ("/nonexistent/seeds", "CLAIMS_SEEDS_DIR"),
    "CLAIMS_DATABASE_URL": ("mysql://db/claims", "CLAIMS_DATABASE_URL"),
    "CLAIMS_CORS_ORIGINS": ("app.example", "CLAIMS_CORS_ORIGINS"),
}


@pytest.mark.parametrize("variable", sorted(BAD_SETTINGS))
def test_serve_refuses_bad_settings_with_a_clear_message(
    variable: str, tmp_path: Path
) -> None:
    value, hint = BAD_SETTINGS[variable]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMS_")}
    env[variable] = value
    run = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--db", str(tmp_path / "c")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("claims-ledger: ")
    assert hint in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "c").exists(), "nothing may be opened before settings pass"
