"""A key that is presented must be valid: a garbage, unknown or malformed
credential is refused (UNAUTHENTICATED) on reads and writes alike, whether
reads are open or need a key. Sending no credentials at all is anonymous."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fakes import EDITOR_KEY, READER_KEY, Server, error_codes

READ = "{ position }"
WRITE = (
    'mutation { proposeClaim(input: {text: "Refused.", about: ["x"], '
    "occurred: {precision: UNKNOWN}}) { version } }"
)

BAD_CREDENTIALS = {
    "unknown bearer key": {"Authorization": "Bearer nope"},
    "other scheme": {"Authorization": "Basic x"},
    "bearer without key": {"Authorization": "Bearer"},
    "empty authorization": {"Authorization": ""},
    "unknown x-api-key": {"X-API-Key": "nope"},
    "key with a typo": {"Authorization": f"Bearer {READER_KEY}x"},
    "a good bearer with a bad x-api-key": {
        "Authorization": f"Bearer {EDITOR_KEY}",
        "X-API-Key": "nope",
    },
    "two good keys of two principals": {
        "Authorization": f"Bearer {EDITOR_KEY}",
        "X-API-Key": READER_KEY,
    },
}


@pytest.fixture(scope="module", params=["open", "key"])
def reads_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    db = tmp_path_factory.mktemp(f"reads-{request.param}") / "claims.sqlite"
    running = Server(db=db, env={"CLAIMS_READS": request.param}).start()
    yield running
    running.stop()


def messages(body: dict[str, object]) -> list[str]:
    errors = body.get("errors")
    assert isinstance(errors, list)
    return [str(error["message"]) for error in errors]


def post(server: Server, query: str, headers: dict[str, str]) -> dict[str, object]:
    response = httpx.post(
        f"{server.url}/graphql", json={"query": query}, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, object] = response.json()
    return body


@pytest.mark.parametrize("query", [READ, WRITE], ids=["read", "write"])
@pytest.mark.parametrize("credential", sorted(BAD_CREDENTIALS))
def test_a_bad_credential_is_refused_whatever_the_reads_setting(
    reads_server: Server, credential: str, query: str
) -> None:
    body = post(reads_server, query, BAD_CREDENTIALS[credential])
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None
    # Not the answer to a missing key: the client learns its key is wrong.
    assert "not valid" in messages(body)[0]


def test_no_credentials_read_as_the_setting_says(reads_server: Server) -> None:
    body = post(reads_server, READ, {})
    if reads_server.env["CLAIMS_READS"] == "open":
        assert isinstance(body["data"], dict)
        assert "errors" not in body
    else:
        assert error_codes(body) == ["UNAUTHENTICATED"]


def test_a_valid_key_reads_either_way(reads_server: Server) -> None:
    body = post(reads_server, READ, {"Authorization": f"Bearer {READER_KEY}"})
    assert isinstance(body["data"], dict)
    assert "errors" not in body
    body = post(reads_server, READ, {"X-API-Key": READER_KEY})
    assert "errors" not in body


def test_a_refused_key_is_logged_as_refused_not_shown(reads_server: Server) -> None:
    post(
        reads_server,
        READ,
        {"Authorization": "Bearer s3cr3t-typo", "X-Request-ID": "refused-1"},
    )
    (line,) = reads_server.log_lines_with("refused-1")
    assert "key refused" in line
    assert "s3cr3t-typo" not in reads_server.log_text()
