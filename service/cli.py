"""The claims-ledger command: serve the API, load seeds, export the schema,
print the log."""

from __future__ import annotations

import argparse
import base64
import contextlib
import logging
import os
import select
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING
from uuid import UUID

from service import settings as settings_module
from service.api.request_ids import configure_logging

if TYPE_CHECKING:
    from service.application import ClaimsLedger
    from service.audit.notes import Signer, Verifier

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="claims-ledger")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the GraphQL API")
    serve.add_argument(
        "--db", help="SQLite file (default: $CLAIMS_DB or claims.sqlite)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; 0.0.0.0 for every interface)",
    )
    serve.add_argument(
        "--port", type=_port, default=8000, help="TCP port (default: 8000)"
    )
    serve.add_argument("--dev", action="store_true", help="serve GraphiQL at /graphql")
    serve.add_argument("--no-seeds", action="store_true", help="do not load seeds/")

    seed = commands.add_parser("load-seeds", help="load seeds/ into the store")
    seed.add_argument("--db", help="SQLite file (default: $CLAIMS_DB or claims.sqlite)")

    events = commands.add_parser(
        "events",
        help="print the log as CloudEvents, one JSON document a line",
        description="Print the log's ledger events in position order as "
        "CloudEvents 1.0 (structured JSON), one a line. Opens the store "
        "read-only; never loads seeds.",
    )
    events.add_argument(
        "--db", help="SQLite file (default: $CLAIMS_DB or claims.sqlite)"
    )
    events.add_argument(
        "--after",
        type=_position,
        default=0,
        metavar="N",
        help="start after this position (default: 0, the whole log)",
    )
    events.add_argument(
        "--follow",
        action="store_true",
        help="at the end, wait and print each event as it commits, until "
        "interrupted or the reader of the output goes away",
    )
    events.add_argument(
        "--type",
        action="append",
        dest="types",
        metavar="T",
        help="only events of this type, e.g. Claim.Proposed (repeatable)",
    )
    events.add_argument(
        "--claim",
        action="append",
        dest="claims",
        type=_claim_id,
        metavar="ID",
        help="only this claim's events: its id, or its UUID (repeatable)",
    )

    rebuild = commands.add_parser(
        "rebuild-views",
        aliases=["rebuild"],
        help="drop the read models and rebuild them from the log",
        description="Drop the views (the read models in the store's database) "
        "and apply the whole log to them again, with a progress bar on a "
        "terminal. Stop the service first: it would read them half-built. "
        "With --check, touch nothing: build them afresh into tables of their "
        "own, up to where the live views stand, compare every row, report "
        "each difference, and exit 1 on any.",
    )
    rebuild.add_argument(
        "--db", help="SQLite file (default: $CLAIMS_DB or claims.sqlite)"
    )
    rebuild.add_argument(
        "--check",
        action="store_true",
        help="compare the live views with a rebuild instead of replacing them",
    )

    export_log = commands.add_parser(
        "export",
        help="write the log as NDJSON CloudEvents, for auditors",
        description="Write every stored event in log order, one CloudEvents "
        "1.0 JSON document a line, with all its metadata (actor, recorded "
        "time, idempotency key, position, leaf index): the whole log, or one "
        "claim's or source's events. Opens the store read-only; a progress "
        "bar on a terminal.",
    )
    export_log.add_argument(
        "--db", help="SQLite file (default: $CLAIMS_DB or claims.sqlite)"
    )
    export_log.add_argument(
        "--claim",
        action="append",
        dest="claims",
        type=_claim_id,
        metavar="ID",
        help="only this claim's events (repeatable)",
    )
    export_log.add_argument(
        "--source",
        action="append",
        dest="sources",
        type=_source_id,
        metavar="ID",
        help="only this source's events (repeatable)",
    )
    export_log.add_argument(
        "--out", type=Path, metavar="FILE", help="write here (default: stdout)"
    )

    import_log = commands.add_parser(
        "import",
        help="replay an exported log into an empty store",
        description="Write the events of a file made by `claims-ledger export` "
        "(the whole log) into an empty store, in their order, then build its "
        "views and audit tree: the same states, statuses and tree roots as "
        "the original. Prints the tree's size and root.",
    )
    import_log.add_argument("file", type=Path, help="the NDJSON file ('-': stdin)")
    import_log.add_argument(
        "--db", help="SQLite file (default: $CLAIMS_DB or claims.sqlite)"
    )

    verify = commands.add_parser(
        "verify",
        help="check the log against its audit tree and signed checkpoints",
        description="Recompute every event's leaf from the stored rows and "
        "compare it with the audit tree, then the tree with every signed "
        "checkpoint (the stored ones and any kept elsewhere). Exits 1 naming "
        "the first position whose event was altered, removed, inserted or "
        "moved. Opens the store read-only; a progress bar on a terminal.",
    )
    verify.add_argument(
        "--db", help="SQLite file (default: $CLAIMS_DB or claims.sqlite)"
    )
    verify.add_argument(
        "--key",
        metavar="VKEY",
        help="the log's public key as published (name+id+key, as GET "
        "/audit/key gives it); default: the public half of the configured "
        "audit key file",
    )
    verify.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="a signed checkpoint kept elsewhere (as GET /audit/checkpoint "
        "gave it), checked too (repeatable)",
    )

    export = commands.add_parser("export-schema", help="write schema/ from the code")
    export.add_argument("--check", action="store_true", help="fail if schema/ is stale")
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        msg = f"a port is a number from 0 to 65535, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return port


def _position(text: str) -> int:
    try:
        position = int(text)
    except ValueError:
        position = -1
    if position < 0:
        msg = f"a position is a whole number, 0 or more, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return position


def _claim_id(text: str) -> UUID:
    from service.api.ids import expect_id
    from service.domain.errors import InvalidInputError

    try:
        return expect_id(text, "Claim")
    except InvalidInputError:
        msg = f"not a claim's id or UUID: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def _source_id(text: str) -> UUID:
    from service.api.ids import expect_id
    from service.domain.errors import InvalidInputError

    try:
        return expect_id(text, "Source")
    except InvalidInputError:
        msg = f"not a source's id or UUID: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "load-seeds":
            return _load_seeds(args)
        if args.command == "events":
            return _events(args)
        if args.command in ("rebuild-views", "rebuild"):
            return _check_views(args) if args.check else _rebuild_views(args)
        if args.command == "verify":
            return _verify(args)
        if args.command == "export":
            return _export_log(args)
        if args.command == "import":
            return _import_log(args)
        return _export(args)
    except settings_module.SettingsError as error:
        print(f"claims-ledger: {error}", file=sys.stderr)  # noqa: T201
        return 2


def _settings(
    args: argparse.Namespace, *, load_seeds: bool = True
) -> settings_module.Settings:
    environ = dict(os.environ)
    if not load_seeds:
        environ["CLAIMS_LOAD_SEEDS"] = "0"
    if getattr(args, "db", None) is not None:
        environ["CLAIMS_DB"] = args.db
    if getattr(args, "dev", False):
        environ["CLAIMS_DEV"] = "1"
    if getattr(args, "no_seeds", False):
        environ["CLAIMS_LOAD_SEEDS"] = "0"
    return settings_module.from_environ(environ)


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from service.api.serving import serve

    if not settings.api_keys:
        logging.getLogger("claims_ledger").warning(
            "CLAIMS_API_KEYS is empty: the API is read-only until keys are set"
        )
    serve(settings, host=args.host, port=args.port)
    return 0


def _load_seeds(args: argparse.Namespace) -> int:
    from service.application import ClaimsLedger
    from service.seeding import load_seeds

    settings = _settings(args)
    ledger = ClaimsLedger(env=settings.ledger_env())
    report = load_seeds(ledger, settings.seeds_dir)
    print(f"recorded {report.recorded} events; log position {report.position}")  # noqa: T201
    return 0


def _rebuild_views(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from service.application import ClaimsLedger
    from service.views.reads import Views

    settings = _settings(args, load_seeds=False)
    ledger = ClaimsLedger(env=settings.ledger_env())
    try:
        total = ledger.recorder.max_notification_id() or 0
        started = time.perf_counter()
        applied = 0

        def advance(events: int) -> None:
            nonlocal applied
            applied += events
            bar.update(events)

        with tqdm(total=total, unit="ev", disable=None, smoothing=0.1) as bar:
            position = Views(ledger).rebuild(progress=advance)
        took = time.perf_counter() - started
    finally:
        ledger.close()
    rate = applied / took if took else 0.0
    print(  # noqa: T201
        f"rebuilt the views from {applied} events to position {position} "
        f"in {took:.1f} s ({rate:,.0f} events/s)"
    )
    return 0


def _check_views(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from service.application import ClaimsLedger
    from service.views.check import check_views

    settings = _settings(args, load_seeds=False)
    ledger = ClaimsLedger(env=settings.ledger_env())
    try:
        started = time.perf_counter()
        with tqdm(unit="ev", disable=None, smoothing=0.1) as bar:
            report = check_views(ledger, progress=bar.update)
        took = time.perf_counter() - started
    finally:
        ledger.close()
    print(  # noqa: T201
        f"rebuilt the views from {report.events} events to position "
        f"{report.position} in {took:.1f} s and compared them with the live ones"
    )
    for difference in report.differences:
        print(f"DIFFERS {difference}", file=sys.stderr)  # noqa: T201
    if not report.differences:
        print("every view equals its rebuild")  # noqa: T201
    return 1 if report.differences else 0


def _verify(args: argparse.Namespace) -> int:
    from eventsourcing.persistence import PersistenceError
    from tqdm import tqdm

    from service.audit.keys import load_or_create
    from service.audit.notes import NoteError, Verifier
    from service.audit.tree import AuditTree
    from service.audit.verify import verify
    from service.views.database import ViewDatabase

    settings = _settings(args, load_seeds=False)
    try:
        verifier = (
            Verifier.parse(args.key)
            if args.key
            else _configured_key(settings, load_or_create)
        )
        kept = [path.read_text() for path in args.checkpoint]
    except (NoteError, OSError) as error:
        print(f"claims-ledger verify: {error}", file=sys.stderr)  # noqa: T201
        return 2
    ledger = _open_to_read(settings)
    if ledger is None:
        return 2  # 1 is for what verify finds
    database = ViewDatabase(ledger.recorder, ledger.factory)
    try:
        total = ledger.recorder.max_notification_id() or 0
        started = time.perf_counter()
        with tqdm(total=total, unit="ev", disable=None, smoothing=0.1) as bar:
            report = verify(
                database,
                AuditTree(database),
                verifier,
                settings.audit_origin,
                kept,
                progress=bar.update,
            )
        took = time.perf_counter() - started
    except PersistenceError as error:
        print(  # noqa: T201
            f"claims-ledger verify: no audit tree to check ({error}); start "
            "the service on this store once to build it",
            file=sys.stderr,
        )
        return 2
    finally:
        database.close()
        ledger.close()
    rate = report.events / took if took else 0.0
    print(  # noqa: T201
        f"read {report.events} events in {took:.1f} s ({rate:,.0f} events/s); "
        f"{report.leaves} matched the tree's leaves; {report.checkpoints} "
        "signed checkpoints recomputed"
    )
    if report.ok:
        print(  # noqa: T201
            f"the largest signed checkpoint covers {report.covered} of the "
            f"{report.events} events; events after it are vouched for by the "
            "tree's leaves only, until the next checkpoint"
        )
    if report.events > report.leaves and report.ok:
        print(  # noqa: T201
            f"{report.events - report.leaves} events recorded after the tree's "
            "last leaf are not in it yet"
        )
    for finding in report.findings:
        print(f"FAILED {finding}", file=sys.stderr)  # noqa: T201
    return 0 if report.ok else 1


def _export_log(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from service.audit.archive import export_lines
    from service.views.database import ViewDatabase

    settings = _settings(args, load_seeds=False)
    wanted = [*(args.claims or ()), *(args.sources or ())]
    ledger = _open_to_read(settings)
    if ledger is None:
        return 1
    database = ViewDatabase(ledger.recorder, ledger.factory)
    try:
        total = ledger.recorder.max_notification_id() or 0
        with (
            (
                args.out.open("w") if args.out else contextlib.nullcontext(sys.stdout)
            ) as out,
            tqdm(total=total, unit="ev", disable=None, smoothing=0.1) as bar,
        ):
            for line in export_lines(
                database, frozenset(wanted) if wanted else None, bar.update
            ):
                out.write(line + "\n")
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except OSError as error:  # --out where nothing can be written
        print(f"claims-ledger export: {error}", file=sys.stderr)  # noqa: T201
        return 1
    finally:
        database.close()
        ledger.close()
    return 0


def _import_log(args: argparse.Namespace) -> int:
    settings = _settings(args, load_seeds=False)
    with contextlib.ExitStack() as stack:
        path: Path = args.file
        if str(path) == "-":  # read twice (checked, then written): spooled
            spool = stack.enter_context(tempfile.NamedTemporaryFile("w+b"))
            shutil.copyfileobj(sys.stdin.buffer, spool)
            spool.flush()
            path = Path(spool.name)
        try:
            with path.open("rb") as counted:  # the lines to come, for an ETA
                total = sum(1 for _ in counted)
        except OSError as error:
            print(f"claims-ledger import: {error}", file=sys.stderr)  # noqa: T201
            return 1

        def lines() -> Iterator[str]:
            with path.open(encoding="utf-8") as opened:  # a bad byte: one line
                yield from opened

        return _import_into(settings, lines, total)
    return 1  # not reached: the block returns


def _import_into(
    settings: settings_module.Settings,
    lines: Callable[[], Iterator[str]],
    total: int,
) -> int:
    from tqdm import tqdm

    from service.application import ClaimsLedger
    from service.audit.archive import ArchiveError, import_lines
    from service.audit.tree import AuditTree
    from service.views.reads import Views

    ledger = ClaimsLedger(env=settings.ledger_env())
    try:
        with tqdm(total=total, unit="ev", disable=None, desc="events") as bar:
            imported = import_lines(ledger.recorder, lines, bar.update)
        views = Views(ledger)
        with tqdm(total=imported.events, unit="ev", disable=None, desc="views") as bar:
            views.catch_up(progress=bar.update)
        tree = AuditTree(views.database)
        tree.create()
        with tqdm(total=imported.events, unit="ev", disable=None, desc="tree") as bar:
            head = tree.catch_up(progress=bar.update)
        views.close()
    except (ArchiveError, OSError, UnicodeError) as error:
        print(f"claims-ledger import: {error}", file=sys.stderr)  # noqa: T201
        return 1
    finally:
        ledger.close()
    root = base64.b64encode(head.root).decode()
    print(  # noqa: T201
        f"imported {imported.events} events; audit tree size {head.size}, root {root}"
    )
    return 0


def _configured_key(
    settings: settings_module.Settings,
    load: Callable[[Path | None, str], Signer],
) -> Verifier:
    """The public half of the configured audit key (never made here)."""
    path = settings.audit_key_path()
    if path is None or not path.exists():
        msg = (
            f"no audit key at {path}: give the log's public key with --key"
            if path
            else "an in-memory store has no audit key"
        )
        raise OSError(msg)
    return load(path, settings.audit_origin).verifier


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt (which no ``except
    Exception`` swallows), wherever the command is waiting: a wait for the
    log, a write to a full pipe. A second one while it winds down acts as it
    would by default."""
    signals = (signal.SIGINT, signal.SIGTERM)

    def stop(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
        for number in signals:
            signal.signal(number, signal.SIG_DFL)
        raise KeyboardInterrupt

    before = {number: signal.signal(number, stop) for number in signals}
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


def _reader_gone(fd: int) -> bool:
    """The output is a pipe or socket whose reader has closed it."""
    if not hasattr(select, "poll"):
        return False
    poller = select.poll()
    poller.register(fd, 0)  # errors and hang-ups are always reported
    gone = select.POLLERR | select.POLLHUP
    return any(events & gone for _, events in poller.poll(0))


def _cannot_read(settings: settings_module.Settings, error: Exception) -> None:
    why = (str(error).strip() or type(error).__name__).splitlines()[0]
    if not settings.database_url and not Path(settings.db_path).exists():
        why = "no such file"
    print(  # noqa: T201
        f"claims-ledger: cannot read the log in {settings.describe_store()}: {why}",
        file=sys.stderr,
    )


def _open_to_read(settings: settings_module.Settings) -> ClaimsLedger | None:
    """The store, opened read-only; None (and why, on stderr) if it cannot be."""
    from service.application import ClaimsLedger

    try:
        ledger = ClaimsLedger(env=_reader_env(settings))
        ledger.recorder.max_notification_id()
    except Exception as error:
        _cannot_read(settings, error)
        return None
    return ledger


def _reader_env(settings: settings_module.Settings) -> dict[str, str]:
    """The store's configuration for a reader: no tables created, and a SQLite
    file opened read-only (so a missing one is an error, not a new file)."""
    env = {**settings.ledger_env(), "CREATE_TABLE": "false"}
    named = settings.db_path
    if settings.database_url is None and not (
        named == ":memory:" or named.startswith("file:")  # a URI is used as given
    ):
        env["SQLITE_DBNAME"] = Path(named).resolve().as_uri() + "?mode=ro"
    return env


def _events(args: argparse.Namespace) -> int:
    from service.application import ClaimsLedger
    from service.feed.cloud import cloud_event_json
    from service.feed.entries import LEDGER_EVENT_TYPES, EntryFilter
    from service.feed.follow import Wakeup, follow
    from service.feed.log_reader import LogReader

    # A reader never loads seeds, so where they lie is not its concern.
    settings = _settings(args, load_seeds=False)
    unknown = sorted(set(args.types or ()) - LEDGER_EVENT_TYPES.keys())
    if unknown:
        known = ", ".join(sorted(LEDGER_EVENT_TYPES))
        print(  # noqa: T201
            f"claims-ledger: unknown event type {', '.join(unknown)}; "
            f"the types are {known}",
            file=sys.stderr,
        )
        return 2
    where = EntryFilter.of(types=args.types, streams=args.claims)
    env = _reader_env(settings)
    out = sys.stdout
    with _stopped_by_signals():
        try:
            ledger = ClaimsLedger(env=env)
            reader = LogReader(ledger)
            reader.head()  # a store that cannot be read fails here, once
        except KeyboardInterrupt:
            return 0
        except Exception as error:
            _cannot_read(settings, error)
            return 1
        try:
            with (
                Wakeup(ledger, settings.feed_poll_interval)
                if args.follow
                else contextlib.nullcontext()
            ) as wakeup:

                def wait() -> bool:
                    assert wakeup is not None  # noqa: S101
                    wakeup.wait()
                    return not _reader_gone(out.fileno())

                for entry in follow(
                    reader, args.after, where, wait=wait if wakeup else None
                ):
                    out.write(cloud_event_json(entry) + "\n")
                    out.flush()
        except BrokenPipeError:
            # Nobody reads on: nothing is wrong. Point stdout at /dev/null so
            # the flush at exit does not complain about the pipe again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
            os.close(devnull)
        except KeyboardInterrupt:
            pass
        finally:
            ledger.close()
    return 0


def _export(args: argparse.Namespace) -> int:
    from service.export import write_schema_files

    stale = write_schema_files(SCHEMA_DIR, check=args.check)
    if stale and args.check:
        print("schema/ is stale: " + ", ".join(stale), file=sys.stderr)  # noqa: T201
        return 1
    for path in stale:
        print(f"wrote schema/{path}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
