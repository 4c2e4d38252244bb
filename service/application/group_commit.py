"""Group commit: the writes that arrive while one transaction commits go
into the next one together.

A single writer thread takes every write queued (up to ``max_batch``), runs
them as one batch (``ClaimsLedger.write_batch``) and only then answers each:
a write is acknowledged after the transaction holding it has committed, as
when it commits alone, but thirty-two concurrent writers share one fsync
instead of queueing for thirty-two. Under no concurrency a batch is one
write, and nothing waits for company.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from service.application.ledger import ClaimsLedger, Write, WriteResult

log = logging.getLogger("claims_ledger.writes")


@dataclass(frozen=True)
class _Request:
    write: Write
    answer: Future[WriteResult]


class GroupCommit:
    def __init__(self, ledger: ClaimsLedger, max_batch: int = 256) -> None:
        self._ledger = ledger
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._serve, name="claims-ledger-writer", daemon=True
        )
        self._thread.start()

    def submit(self, write: Write) -> Future[WriteResult]:
        """The write's answer (or its error) once its transaction commits."""
        answer: Future[WriteResult] = Future()
        self._queue.put(_Request(write, answer))
        return answer

    def close(self) -> None:
        """Answer what is queued, then stop the writer thread."""
        self._queue.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            requests = [first]
            stopping = False
            while len(requests) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                requests.append(more)
            self._answer(requests)
            if stopping:
                return

    def _answer(self, requests: list[_Request]) -> None:
        try:
            results = self._ledger.write_batch([r.write for r in requests])
        except Exception as error:  # the store itself failed: nothing committed
            log.exception("a batch of %d writes failed", len(requests))
            for request in requests:
                request.answer.set_exception(error)
            return
        for request, result in zip(requests, results, strict=True):
            if isinstance(result, Exception):
                request.answer.set_exception(result)
            else:
                request.answer.set_result(result)
