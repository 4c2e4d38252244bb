"""What every event carries besides its payload: who recorded it and under which
idempotency key, and when (the recorded-time clock).

The application sets the actor for the span of one command with ``acting_as``;
events pick it up when they are created, so no command can forget it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import field
from datetime import datetime

from eventsourcing.domain import Aggregate

from service import clock

_actor: ContextVar[str] = ContextVar("actor", default="system")
_idempotency_key: ContextVar[str | None] = ContextVar("idempotency_key", default=None)


@contextmanager
def acting_as(actor: str, idempotency_key: str | None = None) -> Iterator[None]:
    actor_token = _actor.set(actor)
    key_token = _idempotency_key.set(idempotency_key)
    try:
        yield
    finally:
        _actor.reset(actor_token)
        _idempotency_key.reset(key_token)


class LedgerEvent(Aggregate.Event):
    """Base of every ledger event: actor and idempotency key are stamped from
    the command's context, and ``timestamp`` (recorded time) from the clock."""

    actor: str = field(default_factory=_actor.get, init=False)
    idempotency_key: str | None = field(
        default_factory=_idempotency_key.get, init=False
    )

    @staticmethod
    def create_timestamp() -> datetime:
        return clock.now()
