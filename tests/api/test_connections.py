"""Connections a client cannot hold: idle sockets are closed, slow senders are
cut off with a 408 that has the request's id, a bound on requests under way
answers 503 rather than hanging, idle sockets never count toward it, and a
client that goes away mid-body costs one log line, not a traceback.

Real sockets against the real server. Bounds on time are generous: they prove
that a deadline exists at all, not how precise it is.
"""

from __future__ import annotations

import json
import re
import select
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import Server

DEADLINE = 1.0  # the server's idle, header and body timeouts in these tests
LONG = 600.0  # a deadline that must not be the one that acts
GIVE_UP = 20.0  # how long the test trickles before calling it a hang
SLOW_CLIENTS = 10
GENERATED_ID = re.compile(rb"x-request-id: ([0-9a-f]{32})\r\n")


def slow_headers(request_id: str) -> bytes:
    """A request whose headers get as far as its id, then trickle."""
    return (
        b"POST /graphql HTTP/1.1\r\nHost: test\r\n"
        b"X-Request-ID: " + request_id.encode() + b"\r\nX-Slow: "
    )


def slow_body(request_id: str) -> bytes:
    """A request with whole headers and a body still to come."""
    return (
        b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"X-Request-ID: " + request_id.encode() + b"\r\nContent-Length: 1000\r\n\r\n"
    )


@pytest.fixture(scope="module")
def deadlines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("deadlines") / "claims.sqlite"
    running = Server(
        db=db,
        env={
            "CLAIMS_IDLE_TIMEOUT": str(DEADLINE),
            "CLAIMS_HEADER_TIMEOUT": str(DEADLINE),
            "CLAIMS_BODY_TIMEOUT": str(DEADLINE),
        },
    ).start()
    yield running
    running.stop()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Server]]:
    """Start a server of the test's own with these settings; stopped after."""
    started: list[Server] = []

    def start_with(env: dict[str, str]) -> Server:
        server = Server(db=tmp_path / f"claims{len(started)}.sqlite", env=env)
        started.append(server.start())
        return server

    yield start_with
    for server in started:
        server.stop()


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


def closed_by_server(
    sockets: list[socket.socket],
    give_up: float,
    wanted: int | None = None,
    trickle: bool = False,
) -> dict[int, bytes]:
    """Wait until the server has closed ``wanted`` of the sockets (default:
    all) or ``give_up`` seconds pass; what each closed one received before
    closing, by index. With ``trickle``, send one more byte on each open
    socket every 0.1 s, as a slow client would."""
    wanted = len(sockets) if wanted is None else wanted
    received = {i: b"" for i in range(len(sockets))}
    open_ = set(received)
    deadline = time.monotonic() + give_up
    while len(sockets) - len(open_) < wanted and time.monotonic() < deadline:
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
        for i in list(open_) if trickle else []:
            try:
                sockets[i].send(b"a")
            except OSError:
                open_.discard(i)
    return {i: data for i, data in received.items() if i not in open_}


def timeout_lines(server: Server) -> int:
    """How many lines of the log are about a deadline that passed."""
    return sum("not complete" in line for line in server.log_text().splitlines())


def split_response(data: bytes) -> tuple[bytes, dict[bytes, bytes], dict[str, Any]]:
    """Status line, headers (names lowercased) and JSON body of one response."""
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = dict(line.lower().split(b": ", 1) for line in lines)
    return status, headers, json.loads(body)


def test_clients_sending_headers_or_a_body_byte_by_byte_are_cut_off(
    deadlines: Server,
) -> None:
    ids = [f"slow-headers-{i}" for i in range(SLOW_CLIENTS)]
    ids += [f"slow-body-{i}" for i in range(SLOW_CLIENTS)]
    sockets = [connect(deadlines) for _ in ids]
    timeouts_before = timeout_lines(deadlines)
    try:
        for request_id, sock in zip(ids, sockets, strict=True):
            sending = slow_headers if "headers" in request_id else slow_body
            sock.sendall(sending(request_id))
        time.sleep(DEADLINE / 4)
        # While they trickle, everyone else is answered.
        assert httpx.get(f"{deadlines.url}/healthz", timeout=10).status_code == 200
        closed = closed_by_server(sockets, GIVE_UP, trickle=True)
    finally:
        for sock in sockets:
            sock.close()
    assert sorted(closed) == list(range(len(sockets))), "some slow clients stayed"
    for i, data in closed.items():
        status, headers, body = split_response(data)
        assert status == b"HTTP/1.1 408 Request Timeout"
        assert body["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
        # The id the request sent, in the answer and on its one log line.
        assert headers[b"x-request-id"] == ids[i].encode()
        (line,) = deadlines.log_lines_with(f"[{ids[i]}]")
        assert " 408 " in line
        assert f"not complete after {DEADLINE:g} s" in line
    # One line per request: no other line about the timeouts, with or without an id.
    assert timeout_lines(deadlines) == timeouts_before + len(ids)
    assert httpx.get(f"{deadlines.url}/healthz", timeout=10).status_code == 200


def test_a_request_too_slow_to_name_its_id_gets_a_fresh_one(deadlines: Server) -> None:
    with connect(deadlines) as sock:
        sock.sendall(b"POST /graph")
        sock.settimeout(GIVE_UP)
        data = read_response(sock)
        assert sock.recv(4096) == b"", "the connection stayed open"
    assert data.startswith(b"HTTP/1.1 408 ")
    found = GENERATED_ID.search(data.lower())
    assert found, data
    (line,) = deadlines.log_lines_with(f"[{found[1].decode()}]")
    assert " 408 " in line
    assert "headers not complete" in line


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"FOO /graphql HTTP/1.1\r\nHost: x\r\n\r\n",  # a method HTTP has not
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\x1bb\r\n\r\n",
    ],
    ids=["unknown method", "control byte in a header"],
)
def test_a_request_the_parser_cannot_read_gets_json_and_an_id(
    deadlines: Server, request_bytes: bytes
) -> None:
    with connect(deadlines) as sock:
        sock.sendall(request_bytes)
        sock.settimeout(GIVE_UP)
        data = read_response(sock)
    status, headers, body = split_response(data)
    assert status.startswith(b"HTTP/1.1 400 ")
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    request_id = headers[b"x-request-id"].decode()
    (line,) = deadlines.log_lines_with(f"[{request_id}]")
    assert " 400 " in line


def test_a_connection_that_never_sends_is_closed_at_the_idle_deadline(
    start: Callable[[dict[str, str]], Server],
) -> None:
    """Before its first byte a connection has the idle deadline, not the
    (here far longer) header deadline; that byte starts the header one."""
    server = start(
        {
            "CLAIMS_IDLE_TIMEOUT": str(DEADLINE),
            "CLAIMS_HEADER_TIMEOUT": str(LONG),
            "CLAIMS_BODY_TIMEOUT": str(LONG),
        }
    )
    with connect(server) as silent, connect(server) as started:
        started.sendall(b"G")
        silent.settimeout(GIVE_UP)
        assert silent.recv(4096) == b"", "closed without a response to no request"
        started.sendall(b"ET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        assert read_response(started).startswith(b"HTTP/1.1 200 ")


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


def test_a_kept_alive_connection_idle_past_the_idle_deadline_is_closed(
    deadlines: Server,
) -> None:
    with connect(deadlines) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        sock.settimeout(GIVE_UP)
        assert sock.recv(4096) == b""


def test_a_connection_answered_before_its_body_came_is_closed_when_idle(
    deadlines: Server,
) -> None:
    """/healthz answers without reading a body; the body that follows ends
    the request, and the idle deadline runs from there."""
    with connect(deadlines) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"{}")
        sock.settimeout(GIVE_UP)
        assert sock.recv(4096) == b""


def test_past_the_bound_on_requests_under_way_requests_get_503_not_a_hang(
    start: Callable[[dict[str, str]], Server],
) -> None:
    server = start({"CLAIMS_MAX_CONNECTIONS": "3"})
    held = [connect(server) for _ in range(3)]
    for i, sock in enumerate(held):
        sock.sendall(slow_body(f"held-{i}") + b'{"query": ')  # the rest never comes
    time.sleep(0.5)  # let the server take them in
    try:
        refused = httpx.get(
            f"{server.url}/healthz", headers={"X-Request-ID": "busy-1"}, timeout=10
        )
    finally:
        for sock in held:
            sock.close()
    assert refused.status_code == 503
    assert refused.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert refused.headers["x-request-id"] == "busy-1"
    assert refused.headers["retry-after"] == "1"
    # Once the held requests are gone, requests are answered again.
    deadline = time.monotonic() + GIVE_UP
    while (status := httpx.get(f"{server.url}/healthz").status_code) == 503:
        assert time.monotonic() < deadline, "the bound never freed up"
        time.sleep(0.1)
    assert status == 200


def test_bare_connections_never_lock_out_a_request(
    start: Callable[[dict[str, str]], Server],
) -> None:
    """Sockets that send nothing do not count toward the bound: past it, the
    one that has waited longest is closed, and requests are answered."""
    bound = 2
    server = start(
        {"CLAIMS_MAX_CONNECTIONS": str(bound), "CLAIMS_IDLE_TIMEOUT": str(LONG)}
    )
    bare: list[socket.socket] = []
    try:
        for _ in range(5):
            bare += [connect(server) for _ in range(3 * bound)]
            assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        closed = closed_by_server(bare, GIVE_UP, wanted=len(bare) - bound)
    finally:
        for sock in bare:
            sock.close()
    assert len(closed) >= len(bare) - bound
    assert not any(closed.values()), "a bare socket was sent an answer"


def test_a_request_still_sending_headers_when_crowded_out_gets_503(
    start: Callable[[dict[str, str]], Server],
) -> None:
    server = start(
        {
            "CLAIMS_MAX_CONNECTIONS": "2",
            "CLAIMS_IDLE_TIMEOUT": str(LONG),
            "CLAIMS_HEADER_TIMEOUT": str(LONG),
        }
    )
    with connect(server) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nX-Request-ID: crowded-1\r\nHost: t")
        time.sleep(0.5)  # let the server read it
        with connect(server), connect(server):
            status, headers, body = split_response(read_response(slow))
    assert status == b"HTTP/1.1 503 Service Unavailable"
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert headers[b"x-request-id"] == b"crowded-1"
    assert headers[b"retry-after"] == b"1"
    (line,) = server.log_lines_with("[crowded-1]")
    assert " 503 " in line


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
