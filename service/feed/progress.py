"""How far a consumer of the log has got, and a way to wait until it gets
somewhere: a client that wrote at position P reads what P changed once the
views it reads have reached P, without anyone reading the store for it."""

from __future__ import annotations

import asyncio


class Progress:
    """A position that only grows, moved on the event loop by the consumer
    it belongs to; waiters are woken each time it moves."""

    def __init__(self, position: int = 0) -> None:
        self.position = position
        self._moved = asyncio.Event()

    def advance(self, position: int) -> None:
        if position > self.position:
            self.position = position
            moved, self._moved = self._moved, asyncio.Event()
            moved.set()

    async def reached(self, position: int, timeout: float) -> bool:
        """Wait until ``position`` is reached, for at most ``timeout``
        seconds; whether it was."""
        try:
            async with asyncio.timeout(timeout):
                while self.position < position:
                    await self._moved.wait()
        except TimeoutError:
            return False
        return True
