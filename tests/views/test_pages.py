"""The other lists that grow, paged as Relay connections: sources in the order
registered, a source's statements in the order their claims were proposed,
a claim's history by version. Walked a page at a time either way, each
gives the whole list once, and a cursor keeps its place while writes go on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from service.application import Actor, ClaimsLedger
from service.application.commands import RecordStance, RegisterSource
from service.application.ledger import SNAPSHOT_EVERY
from service.domain.errors import InvalidInputError
from service.domain.ids import claim_id_for, source_id_for
from service.domain.source import SourceProfile
from service.domain.values import Period, SourceKind, StanceKind
from service.paging import Page, PageRequest
from service.readings import Basis, ClaimFilter, Reader
from tests.test_snapshots import EVENTS, long_claim

EDITOR = Actor("editor")
OUTLET = "ukrainska-pravda"  # passed on nearly every stance of the article
BEIRUT = "quds-force-approved-attack-at-beirut-meeting"

Pager = Callable[[PageRequest], Page[Any]]


def walk(pager: Pager, size: int, *, backward: bool = False) -> list[Any]:
    """Every item of a list, ``size`` at a time, in the list's order."""
    found: list[Any] = []
    cursor: str | None = None
    for _ in range(10_000):
        if backward:
            page = pager(PageRequest(last=size, before=cursor))
            found = [item for _, item in page.items] + found
            more, cursor = page.has_previous, page.start_cursor
        else:
            page = pager(PageRequest(first=size, after=cursor))
            found += [item for _, item in page.items]
            more, cursor = page.has_next, page.end_cursor
        if not more:
            return found
    raise AssertionError("the pages never end")


def whole(pager: Pager) -> list[Any]:
    page = pager(PageRequest(first=10_000))
    assert not page.has_next
    assert not page.has_previous
    return [item for _, item in page.items]


@pytest.fixture
def article(seeded: ClaimsLedger, reader: Reader) -> Reader:
    return reader


def statement_keys(statements: list[Any]) -> list[tuple[str | None, str]]:
    return [(s.reading.claim.key, s.stance.stance_id) for s in statements]


def test_sources_page_in_the_order_registered(
    seeded: ClaimsLedger, article: Reader
) -> None:
    everything = whole(article.source_page)
    assert [s.id for s in everything] == [s.id for s in article.sources()]
    assert len(everything) == 13
    for size in (1, 4, 13):
        assert walk(article.source_page, size) == everything
        assert walk(article.source_page, size, backward=True) == everything

    first = article.source_page(page=PageRequest(first=5))
    registered = seeded.register_source(
        EDITOR,
        RegisterSource(SourceProfile(name="A late outlet", kind=SourceKind.OUTLET)),
    )
    rest = article.source_page(page=PageRequest(first=100, after=first.end_cursor))
    ids = [s.id for _, s in rest.items]
    assert [s.id for _, s in first.items] + ids == [
        s.id for s in whole(article.source_page)
    ]
    assert ids[-1] == registered.aggregate_id  # met at the end, once


def test_a_source_s_statements_page_either_way_and_match_its_chains(
    article: Reader,
) -> None:
    outlet = source_id_for(OUTLET)

    def pager(page: PageRequest) -> Page[Any]:
        return article.statements(outlet, page=page)

    everything = statement_keys(whole(pager))
    # every stance naming the outlet, claim by claim in the order proposed
    expected = [
        (claim.key, stance.stance_id)
        for _, reading in article.list_claims(
            ClaimFilter(), page=PageRequest(first=100)
        ).items
        for claim in [reading.claim]
        for stance in claim.stances_at()
        if str(outlet) in stance.chain
    ]
    assert everything == expected
    assert len(everything) > 5
    for size in (1, 2, 5):
        assert statement_keys(walk(pager, size)) == everything
        assert statement_keys(walk(pager, size, backward=True)) == everything


def test_a_statement_recorded_behind_the_cursor_does_not_shift_the_pages(
    seeded: ClaimsLedger, article: Reader
) -> None:
    outlet = source_id_for(OUTLET)
    first = article.statements(outlet, page=PageRequest(first=3))
    seen = statement_keys([s for _, s in first.items])
    earliest = first.items[0][1].reading.claim
    recorded = seeded.record_stance(
        EDITOR,
        RecordStance(
            claim_id=earliest.id,
            expected_version=earliest.version,
            kind=StanceKind.DISPUTES,
            chain=(outlet,),
            reported=Period.day(date(2023, 11, 2)),
            quote="Recorded after the first page was read.",
        ),
    )
    rest = statement_keys(
        [
            s
            for _, s in article.statements(
                outlet, page=PageRequest(first=100, after=first.end_cursor)
            ).items
        ]
    )
    assert not set(seen) & set(rest)
    now = statement_keys(whole(lambda page: article.statements(outlet, page=page)))
    assert str(recorded.created_id) in {stance for _, stance in now}
    # behind the cursor: the next pages neither repeat nor show it
    assert seen + rest == [s for s in now if s[1] != str(recorded.created_id)]


def test_statements_at_a_past_basis_page_as_they_stood(
    seeded: ClaimsLedger, article: Reader
) -> None:
    """At the recorded time of Beirut's second event, the outlet had said
    only what had been recorded by then."""
    outlet = source_id_for(OUTLET)
    beirut = seeded.get_claim(claim_id_for(BEIRUT), 2)
    basis = Basis(recorded_at=beirut.modified_on)

    def pager(page: PageRequest) -> Page[Any]:
        return article.statements(outlet, basis, page=page)

    then = whole(pager)
    assert all(s.reading.claim.modified_on <= beirut.modified_on for s in then)
    assert len(then) < len(whole(lambda page: article.statements(outlet, page=page)))
    keys = statement_keys(then)
    assert statement_keys(walk(pager, 1)) == keys
    assert statement_keys(walk(pager, 2, backward=True)) == keys


def test_a_long_history_pages_across_its_snapshots(
    ledger: ClaimsLedger, reader: Reader
) -> None:
    claim_id = long_claim(ledger)

    def pager(page: PageRequest) -> Page[Any]:
        return reader.history_page(claim_id, page=page)

    everything = reader.history(claim_id)
    assert [e.version for e in everything] == list(range(1, EVENTS + 1))
    for size in (30, SNAPSHOT_EVERY, 100):
        assert walk(pager, size) == everything
        assert walk(pager, size, backward=True) == everything
    # a page that starts past a snapshot says what its first event changed
    at_150 = reader.history_page(claim_id, page=PageRequest(first=150)).end_cursor
    after = reader.history_page(claim_id, page=PageRequest(first=1, after=at_150))
    (entry,) = [e for _, e in after.items]
    assert entry.version == 151
    assert [(c.path, c.before, c.after) for c in entry.changes] == [
        ("text", "Wording 150", "Wording 151")
    ]
    # up to a version: nothing later is known
    upto = reader.history_page(claim_id, 120, page=PageRequest(last=5))
    assert [e.version for _, e in upto.items] == [116, 117, 118, 119, 120]
    assert not upto.has_next
    assert upto.has_previous


def test_a_cursor_of_one_list_is_refused_by_another(
    article: Reader,
) -> None:
    sources = article.source_page(page=PageRequest(first=1))
    history = article.history_page(claim_id_for(BEIRUT), page=PageRequest(first=1))
    statements = article.statements(source_id_for(OUTLET), page=PageRequest(first=1))
    assert sources.end_cursor
    assert history.end_cursor
    assert statements.end_cursor
    with pytest.raises(InvalidInputError, match="malformed cursor"):
        article.history_page(
            claim_id_for(BEIRUT), page=PageRequest(first=1, after=sources.end_cursor)
        )
    with pytest.raises(InvalidInputError, match="malformed cursor"):
        article.source_page(page=PageRequest(first=1, before=statements.end_cursor))
    with pytest.raises(InvalidInputError, match="malformed cursor"):
        article.statements(
            source_id_for(OUTLET), page=PageRequest(first=1, after=history.end_cursor)
        )
