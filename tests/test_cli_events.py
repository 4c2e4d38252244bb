"""``claims-ledger events`` as an integrator runs it: the log as CloudEvents,
one JSON document a line, from any position; with --follow, each event
another process writes, until stopped or nobody reads on. A reader: it
creates nothing and loads no seeds."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import psycopg
import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from service.api.ids import global_id
from service.application import Actor, ClaimsLedger
from service.application.commands import AmendClaim, ProposeClaim
from service.domain.claim import ClaimChanges
from service.domain.ids import claim_id_for
from service.feed.cloud import cloud_event_json
from service.feed.entries import EntryFilter
from service.feed.follow import follow
from service.feed.log_reader import LogReader
from tests.conftest import Store
from tests.fakes import environ_without_settings
from tests.test_cli_commands import claims_ledger

WAIT = 60.0
"""A bound on waiting for the command, never a measure of its speed."""


def store_env(store: Store) -> dict[str, str]:
    """The settings that point the command at the store; a short poll, so a
    follower on SQLite sees another process's write soon."""
    named = (
        {"CLAIMS_DATABASE_URL": store.settings.database_url}
        if store.settings.database_url
        else {"CLAIMS_DB": store.settings.db_path}
    )
    return {**named, "CLAIMS_FEED_POLL_INTERVAL": "0.1"}


def events(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return claims_ledger("events", *args, env=store_env(store))


def expected_lines(ledger: ClaimsLedger, after: int = 0, **where: Any) -> list[str]:
    """The log after a position as the feed reads it, in the command's form."""
    entries = follow(LogReader(ledger), after, EntryFilter.of(**where))
    return [cloud_event_json(entry) for entry in entries]


def positions(lines: list[str]) -> list[int]:
    return [json.loads(line)["position"] for line in lines]


class Follower:
    """``events --follow`` running, its lines read as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: queue.Queue[str | None] = queue.Queue()
        if process.stdout is not None:
            threading.Thread(
                target=self._read, args=(process.stdout,), daemon=True
            ).start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._lines.put(line)
        self._lines.put(None)

    def lines(self, n: int) -> list[str]:
        """The next ``n`` lines; each must arrive within the bound."""
        got: list[str] = []
        for _ in range(n):
            try:
                line = self._lines.get(timeout=WAIT)
            except queue.Empty:
                pytest.fail(f"no line within {WAIT}s after {len(got)} of {n}")
            assert line is not None, f"output ended after {len(got)} of {n} lines"
            assert line.endswith("\n")
            got.append(line.removesuffix("\n"))
        return got

    def ended(self) -> tuple[int, str]:
        """Exit status and stderr once the command ends (within the bound)."""
        returncode = self.process.wait(timeout=WAIT)
        assert self.process.stderr is not None
        return returncode, self.process.stderr.read()


@contextmanager
def following(
    store: Store, *args: str, stdout: int | IO[str] = subprocess.PIPE
) -> Iterator[Follower]:
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "events", "--follow", *args],
        env={**environ_without_settings(), **store_env(store)},
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield Follower(process)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=WAIT)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def propose(ledger: ClaimsLedger, text: str) -> int:
    return ledger.propose_claim(Actor("carol"), ProposeClaim(text=text)).position


def test_events_prints_the_whole_log_as_cloud_events_in_position_order(
    store: Store, seeded: ClaimsLedger
) -> None:
    run = events(store)
    assert (run.returncode, run.stderr) == (0, "")
    lines = run.stdout.splitlines()
    assert run.stdout == "".join(line + "\n" for line in lines)
    assert lines == expected_lines(seeded)
    assert len(lines) == LogReader(seeded).head(), "every seed write is one event"
    for line in lines:
        event = JSONFormat().read(None, line)
        assert isinstance(event, CloudEvent)
        assert event.get_specversion() == "1.0"
        assert event.get_type().startswith("org.claims-ledger.")
    found = positions(lines)
    assert found == sorted(set(found))


def test_after_n_starts_after_position_n(store: Store, seeded: ClaimsLedger) -> None:
    every = positions(expected_lines(seeded))
    middle = every[len(every) // 2]

    run = events(store, "--after", str(middle))
    assert (run.returncode, run.stderr) == (0, "")
    assert positions(run.stdout.splitlines()) == [p for p in every if p > middle]

    at_head = events(store, "--after", str(every[-1]))
    assert (at_head.returncode, at_head.stdout, at_head.stderr) == (0, "", "")


def test_type_and_claim_narrow_the_log(store: Store, seeded: ClaimsLedger) -> None:
    types = ["Claim.Proposed", "Source.Registered"]
    run = events(store, "--type", types[0], "--type", types[1])
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == expected_lines(seeded, types=types)

    claim = claim_id_for("iran-directly-involved-in-attack")
    own = expected_lines(seeded, streams=[claim])
    assert own, "the seeded claim has events"
    for named in (str(claim), global_id("Claim", claim)):
        run = events(store, "--claim", named)
        assert run.returncode == 0, run.stderr
        assert run.stdout.splitlines() == own


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["--type", "Claim.Imagined"], "unknown event type Claim.Imagined"),
        (["--claim", "not-an-id"], "--claim"),
        (["--after", "-1"], "--after"),
    ],
)
def test_a_bad_argument_is_refused_before_the_store_is_read(
    store: Store, seeded: ClaimsLedger, args: list[str], hint: str
) -> None:
    run = events(store, *args)
    assert (run.returncode, run.stdout) == (2, "")
    assert hint in run.stderr
    assert "Traceback" not in run.stderr


def test_events_loads_no_seeds_and_creates_nothing(
    store: Store, ledger: ClaimsLedger
) -> None:
    # The store exists but holds nothing; the settings say seeds load.
    run = events(store)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    assert LogReader(ledger).head() == 0


def test_a_store_nobody_created_is_one_line_and_stays_uncreated(
    store: Store,
) -> None:
    run = events(store)
    assert (run.returncode, run.stdout) == (1, "")
    (line,) = run.stderr.splitlines()
    assert line.startswith("claims-ledger: cannot read the log in ")
    if store.backend == "sqlite":
        assert line.endswith(": no such file")
        assert not os.path.exists(store.settings.db_path)
    else:
        assert "does not exist" in line
        assert tables_in(store) == []


def tables_in(store: Store) -> list[str]:
    env = store.env
    with psycopg.connect(
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        dbname=env["POSTGRES_DBNAME"],
    ) as connection:
        rows = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            [env["POSTGRES_SCHEMA"]],
        ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_follow_prints_what_another_process_writes_until_stopped(
    store: Store, seeded: ClaimsLedger, stop: signal.Signals
) -> None:
    logged = expected_lines(seeded)
    with following(store) as follower:
        assert follower.lines(len(logged)) == logged
        # The command is at the head; this process writes as a server would.
        first = propose(seeded, "Written while the command follows.")
        (line,) = follower.lines(1)
        event = json.loads(line)
        assert (event["position"], event["type"]) == (
            first,
            "org.claims-ledger.Claim.Proposed",
        )
        assert event["data"]["text"] == "Written while the command follows."
        second = propose(seeded, "And another.")
        assert positions(follower.lines(1)) == [second]

        follower.process.send_signal(stop)
        assert follower.ended() == (0, "")


def test_follow_with_a_filter_prints_only_matching_writes(
    store: Store, seeded: ClaimsLedger
) -> None:
    wanted = claim_id_for("iran-directly-involved-in-attack")
    head = LogReader(seeded).head()
    with following(store, "--after", str(head), "--claim", str(wanted)) as follower:
        propose(seeded, "Not the followed claim.")
        version = seeded.get_claim(wanted).version
        changes = ClaimChanges(about=("Iran", "followed"))
        amended = seeded.amend_claim(
            Actor("carol"), AmendClaim(wanted, version, changes, reason="both named")
        )
        assert positions(follower.lines(1)) == [amended.position]
        follower.process.terminate()
        assert follower.ended() == (0, "")


def test_follow_ends_quietly_when_the_reader_of_its_output_goes_away(
    store: Store, seeded: ClaimsLedger
) -> None:
    head = LogReader(seeded).head()
    read_end, write_end = os.pipe()
    with (
        os.fdopen(write_end, "w") as stdout,
        following(store, "--after", str(head - 1), stdout=stdout) as follower,
    ):
        stdout.close()  # the command holds the only writing end now
        with os.fdopen(read_end) as output:
            assert json.loads(output.readline())["position"] == head
        # Nobody reads now: the command notices while it waits, and ends.
        assert follower.ended() == (0, "")


def test_events_into_a_closed_pipe_ends_quietly(
    store: Store, seeded: ClaimsLedger
) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the first line the command writes meets a closed pipe
    with os.fdopen(write_end, "w") as stdout:
        run = subprocess.run(
            [sys.executable, "-m", "service.cli", "events"],
            env={**environ_without_settings(), **store_env(store)},
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=WAIT,
            check=False,
        )
    assert (run.returncode, run.stderr) == (0, "")
