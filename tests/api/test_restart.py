"""What the server acknowledged survives a kill -9 and a restart."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.fakes import EDITOR_KEY, Server, error_codes, gql

PROPOSE = """mutation($input: ProposeClaimInput!) {
  proposeClaim(input: $input) { position claim { id } } }"""


def test_acknowledged_writes_survive_kill_and_restart(tmp_path: Path) -> None:
    db = tmp_path / "claims.sqlite"
    first = Server(db=db).start()
    try:
        with httpx.Client(base_url=first.url, timeout=30) as http:
            written = [
                gql(
                    http,
                    PROPOSE,
                    {"input": {"text": f"Claim {i} before the crash."}},
                    key=EDITOR_KEY,
                )["data"]["proposeClaim"]
                for i in range(5)
            ]
            position = http.get("/healthz").json()["position"]
    finally:
        first.kill()

    second = Server(db=db).start()
    try:
        with httpx.Client(base_url=second.url, timeout=30) as http:
            assert http.get("/healthz").json()["position"] == position
            for write in written:
                body = gql(
                    http,
                    "query($id: ID!) { claim(id: $id) { text } }",
                    {"id": write["claim"]["id"]},
                )
                assert body["data"]["claim"]["text"].endswith("before the crash.")
            total = gql(http, "{ claims(first: 100) { totalCount } }")
            assert total["data"]["claims"]["totalCount"] == 10 + 5  # seeds not reloaded
    finally:
        second.stop()


def test_reads_can_require_a_key(tmp_path: Path) -> None:
    server = Server(db=tmp_path / "c.sqlite", env={"CLAIMS_READS": "key"}).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert error_codes(gql(http, "{ position }")) == ["UNAUTHENTICATED"]
            body = gql(http, "{ position }", key=EDITOR_KEY)
            assert body["data"]["position"] >= 38
    finally:
        server.stop()
