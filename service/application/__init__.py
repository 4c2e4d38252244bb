"""Write use cases: the ledger and the commands it takes."""

from service.application.ledger import Actor, ClaimsLedger, RecordedEvent, WriteResult

__all__ = ["Actor", "ClaimsLedger", "RecordedEvent", "WriteResult"]
