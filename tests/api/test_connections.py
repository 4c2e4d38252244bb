"""Connections a client cannot hold: slow senders are cut off, a bound on open
connections answers 503 rather than hanging, and a client that goes away
mid-body costs one log line, not a traceback.

Real sockets against the real server. Bounds on time are generous: they prove
that a deadline exists at all, not how precise it is.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes import Server

DEADLINE = 1.0  # the server's header and body timeouts in these tests
GIVE_UP = 20.0  # how long the test trickles before calling it a hang
SLOW_CLIENTS = 10

SLOW_HEADERS = b"POST /graphql HTTP/1.1\r\nHost: test\r\nX-Slow: "
SLOW_BODY = (
    b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000\r\n\r\n"
)


@pytest.fixture(scope="module")
def deadlines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("deadlines") / "claims.sqlite"
    running = Server(
        db=db,
        env={
            "CLAIMS_HEADER_TIMEOUT": str(DEADLINE),
            "CLAIMS_BODY_TIMEOUT": str(DEADLINE),
        },
    ).start()
    yield running
    running.stop()


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def read_response(sock: socket.socket) -> bytes:
    """One whole response (head and Content-Length body) from the socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    (length,) = [
        int(line.split(b":")[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    ]
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk, f"closed after {data!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def trickle(sockets: list[socket.socket], give_up: float) -> dict[int, bytes]:
    """Send one more byte on each socket every 0.1 s until the server closes
    it; what each received before closing, by index. Sockets still open after
    ``give_up`` seconds are missing from the answer."""
    received = {i: b"" for i in range(len(sockets))}
    open_ = set(received)
    deadline = time.monotonic() + give_up
    while open_ and time.monotonic() < deadline:
        readable, _, _ = select.select([sockets[i] for i in open_], [], [], 0.1)
        for sock in readable:
            i = sockets.index(sock)
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                chunk = b""
            received[i] += chunk
            if not chunk:
                open_.discard(i)
        for i in list(open_):
            try:
                sockets[i].send(b"a")
            except OSError:
                open_.discard(i)
    return {i: data for i, data in received.items() if i not in open_}


def test_clients_sending_headers_or_a_body_byte_by_byte_are_cut_off(
    deadlines: Server,
) -> None:
    sockets = [connect(deadlines) for _ in range(2 * SLOW_CLIENTS)]
    try:
        for i, sock in enumerate(sockets):
            sock.sendall(SLOW_HEADERS if i < SLOW_CLIENTS else SLOW_BODY)
        time.sleep(DEADLINE / 4)
        # While they trickle, everyone else is answered.
        assert httpx.get(f"{deadlines.url}/healthz", timeout=10).status_code == 200
        closed = trickle(sockets, give_up=GIVE_UP)
    finally:
        for sock in sockets:
            sock.close()
    assert sorted(closed) == list(range(len(sockets))), "some slow clients stayed"
    for data in closed.values():
        status, _, rest = data.partition(b"\r\n")
        assert status == b"HTTP/1.1 408 Request Timeout"
        body = json.loads(rest.partition(b"\r\n\r\n")[2])
        assert body["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
    assert httpx.get(f"{deadlines.url}/healthz", timeout=10).status_code == 200


def test_a_connection_that_never_sends_is_closed(deadlines: Server) -> None:
    with connect(deadlines) as sock:
        sock.settimeout(GIVE_UP)
        assert sock.recv(4096) == b"", "closed without a response to no request"


def test_the_deadlines_run_per_request_not_per_connection(
    deadlines: Server,
) -> None:
    """Three prompt requests on one kept-alive connection, spread over longer
    than one deadline: each is answered."""
    with connect(deadlines) as sock:
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
            time.sleep(DEADLINE * 0.6)


def test_past_the_connection_bound_requests_get_503_not_a_hang(
    tmp_path: Path,
) -> None:
    server = Server(
        db=tmp_path / "claims.sqlite", env={"CLAIMS_MAX_CONNECTIONS": "3"}
    ).start()
    try:
        held = [connect(server) for _ in range(3)]
        for sock in held:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")  # not finished
        time.sleep(0.5)  # let the server take them in
        try:
            refused = httpx.get(
                f"{server.url}/healthz", headers={"X-Request-ID": "busy-1"}, timeout=10
            )
        finally:
            for sock in held:
                sock.close()
        assert refused.status_code == 503
        assert refused.json()["errors"][0]["extensions"]["code"] == (
            "SERVICE_UNAVAILABLE"
        )
        assert refused.headers["x-request-id"] == "busy-1"
        # Once the held connections are gone, requests are answered again.
        deadline = time.monotonic() + GIVE_UP
        while (status := httpx.get(f"{server.url}/healthz").status_code) == 503:
            assert time.monotonic() < deadline, "the bound never freed up"
            time.sleep(0.1)
        assert status == 200
    finally:
        server.stop()


def test_a_client_gone_mid_body_leaves_one_log_line_and_no_traceback(
    deadlines: Server,
) -> None:
    with connect(deadlines) as sock:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: test\r\nX-Request-ID: gone-mid-body\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            b'{"query": "{ position'
        )
        time.sleep(DEADLINE / 4)  # the server is waiting for the rest
    lines = deadlines.log_lines_with("gone-mid-body")
    assert len(lines) == 1, lines
    assert "client gone" in lines[0]
    log = deadlines.log_text()
    assert "Traceback" not in log
    assert "ClientDisconnect" not in log
