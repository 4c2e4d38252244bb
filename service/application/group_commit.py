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


class WriterClosedError(RuntimeError):
    """A write submitted after the writer was closed (the service is stopping)."""


class GroupCommit:
    def __init__(self, ledger: ClaimsLedger, max_batch: int = 256) -> None:
        self._ledger = ledger
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(
            target=self._serve, name="claims-ledger-writer", daemon=True
        )
        self._thread.start()

    def submit(self, write: Write) -> Future[WriteResult]:
        """The write's answer (or its error) once its transaction commits.
        Cancelling the future before the writer takes the write withdraws it;
        after that, the write commits and only the answer is dropped."""
        if self._closed:
            raise WriterClosedError("the service is stopping; nothing was written")
        answer: Future[WriteResult] = Future()
        self._queue.put(_Request(write, answer))
        return answer

    def close(self) -> None:
        """Answer what is queued, then stop the writer thread."""
        self._closed = True
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
            # A request whose caller went away before it ran is not written.
            taken = [r for r in requests if r.answer.set_running_or_notify_cancel()]
            try:
                self._answer(taken)
            except BaseException as error:  # the writer must outlive any batch
                log.exception("answering a batch of %d writes failed", len(taken))
                for request in taken:
                    _settle(request.answer, error=error)
            if stopping:
                return

    def _answer(self, requests: list[_Request]) -> None:
        if not requests:
            return
        results = self._ledger.write_batch([r.write for r in requests])
        for request, result in zip(requests, results, strict=True):
            if isinstance(result, Exception):
                _settle(request.answer, error=result)
            else:
                _settle(request.answer, result=result)


def _settle(
    answer: Future[WriteResult],
    result: WriteResult | None = None,
    error: BaseException | None = None,
) -> None:
    """Answer once; a future already settled keeps its answer."""
    if answer.done():
        return
    if error is not None:
        answer.set_exception(error)
    elif result is not None:
        answer.set_result(result)
