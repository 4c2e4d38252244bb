"""Composition root: builds the ledger, its views, reader and feed from
settings, and starts and stops what runs beside requests.

One follower of the log (service.feed.hub) brings the views up as the log
grows; readers read them where they are, and a write waits for them to reach
the write's position before answering (service.api.context.Context.reads_reach).
The audit tree follows on a task of its own, woken by the same follower, and
signs checkpoints of the log (service.audit)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from eventsourcing.postgres import PostgresApplicationRecorder

from service.application import ClaimsLedger
from service.application.group_commit import GroupCommit
from service.audit.follower import AuditFollower
from service.audit.keys import load_or_create
from service.audit.proofs import Proofs
from service.audit.tree import AuditTree
from service.feed.hub import LogHub
from service.feed.log_reader import LogReader
from service.feed.progress import Progress
from service.feed.wakeup import PostgresListener
from service.readings import Reader
from service.seeding import SeedReport, load_seeds
from service.settings import Settings
from service.views.reads import Views


@dataclass(frozen=True)
class Services:
    settings: Settings
    ledger: ClaimsLedger
    views: Views
    reader: Reader
    log: LogReader
    hub: LogHub
    writes: GroupCommit
    reads: Progress  # the position the views, which readers read, reflect
    audit: AuditFollower
    proofs: Proofs
    listener: PostgresListener | None = None
    seeded: SeedReport | None = None  # what loading the seeds at start recorded


def build(settings: Settings) -> Services:
    """Open the store and bring the views up to the log's head. Blocking."""
    ledger = ClaimsLedger(env=settings.ledger_env())
    seeded = load_seeds(ledger, settings.seeds_dir) if settings.load_seeds else None
    return assemble(settings, ledger, seeded)


def assemble(
    settings: Settings, ledger: ClaimsLedger, seeded: SeedReport | None = None
) -> Services:
    """Everything that reads the ledger, around an open ledger. Blocking."""
    views = Views(ledger)
    reads = Progress(views.catch_up())
    log = LogReader(ledger)
    tree = AuditTree(views.database)
    tree.create()
    audit = AuditFollower(
        tree,
        load_or_create(settings.audit_key_path(), settings.audit_origin),
        settings.audit_origin,
        settings.checkpoint_interval,
    )

    async def advance_views(position: int) -> None:  # noqa: ARG001 - reads its own
        reads.advance(await asyncio.to_thread(views.catch_up))

    async def wake_audit(position: int) -> None:  # noqa: ARG001 - reads its own
        audit.wake()

    hub = LogHub(
        log,
        poll_interval=settings.feed_poll_interval,
        on_advance=(advance_views, wake_audit),
    )
    ledger.on_commit.append(lambda _position: hub.bell.ring())
    recorder = ledger.recorder
    listener = (
        PostgresListener(recorder, hub.bell.ring)
        if isinstance(recorder, PostgresApplicationRecorder)
        else None
    )
    reader = Reader(ledger, views, followed=True)
    writes = GroupCommit(ledger)
    return Services(
        settings,
        ledger,
        views,
        reader,
        log,
        hub,
        writes,
        reads,
        audit,
        Proofs(views.database, tree, audit.signer.verifier, audit.origin),
        listener,
        seeded,
    )


async def start(services: Services) -> None:
    """Start following the log (from the running event loop)."""
    await services.hub.start()
    await services.audit.start()
    if services.listener is not None:
        services.listener.start()


async def stop(services: Services) -> None:
    if services.listener is not None:
        await asyncio.to_thread(services.listener.stop)
    await services.audit.stop()
    await services.hub.stop()


def close(services: Services) -> None:
    """Answer the writes still queued, then close the store. Blocking."""
    services.writes.close()
    services.views.close()
    services.ledger.close()
