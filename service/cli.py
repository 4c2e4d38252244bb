"""The claims-ledger command: serve the API, load seeds, export the schema."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from service import settings as settings_module
from service.api.request_ids import configure_logging

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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "load-seeds":
            return _load_seeds(args)
        return _export(args)
    except settings_module.SettingsError as error:
        print(f"claims-ledger: {error}", file=sys.stderr)  # noqa: T201
        return 2


def _settings(args: argparse.Namespace) -> settings_module.Settings:
    environ = dict(os.environ)
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
