"""The audit tree following the log while the service runs: it adds what
the log gained and signs a checkpoint of it, at most one per ``interval``
seconds and never later than that after an event it covers, on a task of
its own, so a long first catch-up (a store the tree has never seen) delays
no write and no read."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from service.audit.notes import NoteError, Signer
from service.audit.tree import AuditTree, SignedCheckpoint, TreeDamagedError

LOG = logging.getLogger("claims_ledger.audit")


class AuditFollower:
    def __init__(
        self, tree: AuditTree, signer: Signer, origin: str, interval: float
    ) -> None:
        self.tree = tree
        self.signer = signer
        self.origin = origin
        self._interval = interval
        self._rung = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.latest: SignedCheckpoint | None = None

    def wake(self) -> None:
        """The log may have grown."""
        self._rung.set()

    def latest_signed(self) -> SignedCheckpoint | None:
        """The latest checkpoint this instance's key signed. Blocking."""
        return self.tree.latest_checkpoint(self.signer.verifier, self.origin)

    async def start(self) -> None:
        self.latest = await asyncio.to_thread(self.latest_signed)
        self._task = asyncio.create_task(self._run(), name="claims-ledger-audit")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        """Add what the log gained; sign when the tree holds events no
        checkpoint covers, at once unless a checkpoint was signed less than
        ``interval`` ago (then when it is that old): one checkpoint per
        interval at most, and none later than an interval after the events
        it is the first to cover."""
        warned = False
        while True:
            wait = self._interval
            try:
                head = await asyncio.to_thread(self.tree.catch_up)
                if head.size > (self.latest.size if self.latest else 0):
                    # the newest, whoever signed it: one interval for all
                    # instances on the database, not one each
                    self.latest = await asyncio.to_thread(self.latest_signed)
                if head.size > (self.latest.size if self.latest else 0):
                    since = (
                        (datetime.now(UTC) - self.latest.signed_at).total_seconds()
                        if self.latest
                        else self._interval
                    )
                    if since >= self._interval:
                        self.latest = await asyncio.to_thread(
                            self.tree.sign,
                            self.signer,
                            self.origin,
                            datetime.now(UTC),
                        )
                        continue
                    wait = max(self._interval - since, 0.0)
            except (NoteError, TreeDamagedError) as refused:  # said once
                if not warned:
                    LOG.error("no checkpoint signed: %s", refused)
                    warned = True
            except Exception:
                LOG.exception("the audit tree could not follow the log; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._rung.wait(), timeout=wait)
            self._rung.clear()
