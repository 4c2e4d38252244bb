"""Composition root: builds the ledger, its catalog and reader from settings."""

from __future__ import annotations

from dataclasses import dataclass

from service.application import ClaimsLedger
from service.catalog import Catalog
from service.readings import Reader
from service.seeding import SeedReport, load_seeds
from service.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    ledger: ClaimsLedger
    catalog: Catalog
    reader: Reader
    seeded: SeedReport | None = None  # what loading the seeds at start recorded


def build(settings: Settings) -> Services:
    """Open the store and bring the catalog up to the log's head. Blocking."""
    ledger = ClaimsLedger(env=settings.ledger_env())
    seeded = load_seeds(ledger, settings.seeds_dir) if settings.load_seeds else None
    catalog = Catalog(ledger)
    catalog.catch_up()
    return Services(settings, ledger, catalog, Reader(ledger, catalog), seeded)


def close(services: Services) -> None:
    services.ledger.close()
