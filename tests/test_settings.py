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


def test_sqlite_is_the_default_store(tmp_path: Path) -> None:
    env = from_environ({"CLAIMS_DB": str(tmp_path / "x.sqlite")}).ledger_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == str(tmp_path / "x.sqlite")


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


@pytest.mark.parametrize(
    ("word", "meaning"),
    [
        *[("1", True), ("TRUE", True), (" yes ", True), ("on", True)],
        *[("0", False), ("false", False), ("No", False), ("off", False)],
    ],
)
def test_flags_take_the_usual_words(word: str, meaning: bool) -> None:
    settings = from_environ({"CLAIMS_DEV": word, "CLAIMS_LOAD_SEEDS": word})
    assert (settings.dev, settings.load_seeds) == (meaning, meaning)


def test_an_empty_flag_means_its_default() -> None:
    settings = from_environ({"CLAIMS_DEV": "", "CLAIMS_LOAD_SEEDS": ""})
    assert (settings.dev, settings.load_seeds) == (False, True)


@pytest.mark.parametrize("variable", ["CLAIMS_DEV", "CLAIMS_LOAD_SEEDS"])
@pytest.mark.parametrize("word", ["ture", "flase", "2", "y"])
def test_a_misspelt_flag_is_refused_not_read_as_no(variable: str, word: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        from_environ({variable: word})


def test_connection_limits_have_defaults_and_take_numbers() -> None:
    defaults = from_environ({})
    # An idle socket is shed sooner than a slow request is cut off.
    assert 0 < defaults.idle_timeout < defaults.header_timeout
    assert defaults.body_timeout > 0
    assert defaults.max_connections > 0
    settings = from_environ(
        {
            "CLAIMS_IDLE_TIMEOUT": "0.5",
            "CLAIMS_HEADER_TIMEOUT": "2.5",
            "CLAIMS_BODY_TIMEOUT": "7",
            "CLAIMS_MAX_CONNECTIONS": "12",
        }
    )
    assert (settings.idle_timeout, settings.header_timeout) == (0.5, 2.5)
    assert settings.body_timeout == 7.0
    assert settings.max_connections == 12


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CLAIMS_IDLE_TIMEOUT", "soon"),
        ("CLAIMS_IDLE_TIMEOUT", "0"),
        ("CLAIMS_HEADER_TIMEOUT", "soon"),
        ("CLAIMS_HEADER_TIMEOUT", "0"),
        ("CLAIMS_BODY_TIMEOUT", "-1"),
        ("CLAIMS_BODY_TIMEOUT", "nan"),
        ("CLAIMS_BODY_TIMEOUT", "inf"),
        ("CLAIMS_MAX_CONNECTIONS", "0"),
        ("CLAIMS_MAX_CONNECTIONS", "1.5"),
        ("CLAIMS_MAX_CONNECTIONS", "many"),
    ],
)
def test_malformed_connection_limits_are_refused(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        from_environ({variable: value})


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_sqlite_file_name_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="CLAIMS_DB"):
        from_environ({"CLAIMS_DB": value})


def test_the_sqlite_file_must_be_a_file_in_a_directory_that_exists(
    tmp_path: Path,
) -> None:
    with pytest.raises(SettingsError, match="no directory"):
        from_environ({"CLAIMS_DB": str(tmp_path / "missing" / "claims.sqlite")})
    with pytest.raises(SettingsError, match="is a directory"):
        from_environ({"CLAIMS_DB": str(tmp_path)})
    assert from_environ({"CLAIMS_DB": str(tmp_path / "new.sqlite")}).db_path


def test_the_store_description_names_the_store_but_not_the_password(
    tmp_path: Path,
) -> None:
    sqlite = from_environ({"CLAIMS_DB": str(tmp_path / "c.sqlite")})
    assert sqlite.describe_store() == f"SQLite {tmp_path / 'c.sqlite'}"
    postgres = from_environ(
        {
            "CLAIMS_DATABASE_URL": "postgresql://ann:hunter2@db.local:6543/claims?schema=s1"
        }
    )
    assert postgres.describe_store() == "PostgreSQL ann@db.local:6543/claims schema s1"
    assert "hunter2" not in postgres.describe_store()
