"""bench/corpus.py writes a corpus of the seed's shape through the ledger's
own use cases: every kind of write it plans is accepted, on each store."""

from __future__ import annotations

from collections import Counter

from service.application import ClaimsLedger
from service.feed.log_reader import LogReader
from tests.conftest import Store, write_corpus


def test_the_corpus_has_the_seed_shape_and_a_long_stream(store: Store) -> None:
    done = write_corpus(store, 120, hot_events=300)
    assert "120 claims" in done.stdout
    assert done.stderr == ""  # no progress bar when not on a terminal

    ledger = ClaimsLedger(env=store.env)
    try:
        reader = LogReader(ledger)
        entries = []
        after = 0
        while True:
            page = reader.page(after, 500)
            entries += page.entries
            after = page.end
            if page.at_head:
                break
    finally:
        ledger.close()
    types = Counter(e.type for e in entries)
    for kind in (
        "Claim.StanceRetracted",
        "Claim.StanceCorrected",
        "Claim.WordingCorrected",
        "Claim.Linked",
        "Claim.LinkWithdrawn",
        "Source.Registered",
    ):
        assert types[kind] > 0, kind
    assert types["Claim.Proposed"] == 120 + 10  # and the seed article's ten
    longest = Counter(e.stream_id for e in entries).most_common(1)[0][1]
    assert longest == 300
