from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Role, SettingsError, from_environ, parse_api_keys


def test_api_keys_map_secrets_to_principals_and_roles() -> None:
    keys = parse_api_keys("s1=alice:editor, s2=bob:reader\ns3=carol:editor")
    assert {k: (v.principal, v.role) for k, v in keys.items()} == {
        "s1": ("alice", Role.EDITOR),
        "s2": ("bob", Role.READER),
        "s3": ("carol", Role.EDITOR),
    }


@pytest.mark.parametrize(
    "entry", ["nokey", "s=alice", "s=alice:admin", "=alice:editor"]
)
def test_malformed_api_keys_are_refused(entry: str) -> None:
    with pytest.raises(SettingsError):
        parse_api_keys(entry)


def test_secrets_stay_out_of_the_settings_repr() -> None:
    settings = from_environ(
        {
            "CLAIMS_API_KEYS": "very-secret=alice:editor",
            "CLAIMS_DATABASE_URL": "postgresql://u:hunter2@db:5432/claims",
        }
    )
    assert "very-secret" not in repr(settings)
    assert "hunter2" not in repr(settings)


def test_sqlite_is_the_default_store() -> None:
    env = from_environ({"CLAIMS_DB": "/data/x.sqlite"}).ledger_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == "/data/x.sqlite"


def test_a_database_url_selects_postgresql() -> None:
    settings = from_environ(
        {
            "CLAIMS_DATABASE_URL": "postgresql://ann:p%40ss@db.local:6543/claims?schema=s1"
        }
    )
    env = settings.ledger_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (
        env["POSTGRES_HOST"],
        env["POSTGRES_PORT"],
        env["POSTGRES_DBNAME"],
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"],
        env["POSTGRES_SCHEMA"],
    ) == ("db.local", "6543", "claims", "ann", "p@ss", "s1")


def test_a_malformed_database_url_is_refused() -> None:
    with pytest.raises(SettingsError):
        from_environ({"CLAIMS_DATABASE_URL": "mysql://db/claims"}).ledger_env()


def test_cors_origins_are_a_list_of_web_origins() -> None:
    settings = from_environ(
        {"CLAIMS_CORS_ORIGINS": "https://app.example/, http://localhost:5173"}
    )
    assert settings.cors_origins == ("https://app.example", "http://localhost:5173")
    assert from_environ({}).cors_origins == ()
    with pytest.raises(SettingsError):
        from_environ({"CLAIMS_CORS_ORIGINS": "app.example"})


def test_reads_are_open_unless_keys_are_asked_for() -> None:
    assert not from_environ({}).reads_need_key
    assert from_environ({"CLAIMS_READS": " Key "}).reads_need_key


def test_seeds_may_be_missing_only_when_not_loaded(tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        from_environ({"CLAIMS_SEEDS_DIR": str(tmp_path)})
    settings = from_environ(
        {"CLAIMS_SEEDS_DIR": str(tmp_path), "CLAIMS_LOAD_SEEDS": "0"}
    )
    assert not settings.load_seeds
