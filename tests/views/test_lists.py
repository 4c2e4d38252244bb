"""Lists of claims in several orders, paged either way with cursors that stay
put while claims change, filtered by affiliation and by date ranges."""

from __future__ import annotations

from datetime import date

import pytest

from service.application import Actor, ClaimsLedger
from service.application.commands import AmendClaim
from service.domain.claim import ClaimChanges
from service.domain.errors import InvalidInputError
from service.domain.ids import claim_id_for, source_id_for
from service.domain.values import Period
from service.paging import PageRequest
from service.readings import ClaimFilter, Reader, decode_claims_cursor
from service.views.reads import ClaimOrder

EDITOR = Actor("editor")
EVERY_CLAIM = ClaimFilter()


def walk(
    reader: Reader,
    claim_filter: ClaimFilter = EVERY_CLAIM,
    *,
    order: ClaimOrder = ClaimOrder.PROPOSED,
    descending: bool = False,
    size: int = 3,
    backward: bool = False,
) -> list[str | None]:
    """Every claim of a list, page by page, in the list's order."""
    found: list[str | None] = []
    cursor: str | None = None
    while True:
        if backward:
            page = reader.list_claims(
                claim_filter,
                page=PageRequest(last=size, before=cursor),
                order=order,
                descending=descending,
            )
            found = [r.claim.key for _, r in page.items] + found
            more, cursor = page.has_previous, page.start_cursor
        else:
            page = reader.list_claims(
                claim_filter,
                page=PageRequest(first=size, after=cursor),
                order=order,
                descending=descending,
            )
            found += [r.claim.key for _, r in page.items]
            more, cursor = page.has_next, page.end_cursor
        if not more:
            return found


@pytest.fixture
def article(seeded: ClaimsLedger, reader: Reader) -> Reader:
    return reader


def amend_about(ledger: ClaimsLedger, key: str, about: tuple[str, ...]) -> None:
    claim = ledger.get_claim(claim_id_for(key))
    ledger.amend_claim(
        EDITOR,
        AmendClaim(claim.id, claim.version, ClaimChanges(about=about), "a test"),
    )


def test_every_order_pages_the_same_list_forward_and_backward(article: Reader) -> None:
    everything = walk(article, size=100)
    assert len(everything) == len(set(everything)) > 3
    for order in ClaimOrder:
        for descending in (False, True):
            forward = walk(article, order=order, descending=descending)
            assert sorted(forward, key=str) == sorted(everything, key=str)
            backward = walk(article, order=order, descending=descending, backward=True)
            assert backward == forward
            flipped = walk(article, order=order, descending=not descending)
            if order is not ClaimOrder.OCCURRED:  # ties keep their own order
                assert flipped == forward[::-1]


def test_the_last_changed_order_moves_a_claim_that_changes(
    seeded: ClaimsLedger, article: Reader
) -> None:
    first = walk(article, order=ClaimOrder.LAST_CHANGED)[0]
    assert first is not None
    amend_about(seeded, first, ("Iran", "changed"))
    latest = walk(article, order=ClaimOrder.LAST_CHANGED, descending=True)
    assert latest[0] == first


def test_a_cursor_holds_its_place_while_claims_change(
    seeded: ClaimsLedger, article: Reader
) -> None:
    page = article.list_claims(
        ClaimFilter(), page=PageRequest(first=2), order=ClaimOrder.LAST_CHANGED
    )
    seen = [r.claim.key for _, r in page.items]
    assert seen[0] is not None
    amend_about(seeded, seen[0], ("Iran", "changed again"))
    rest = article.list_claims(
        ClaimFilter(),
        page=PageRequest(first=100, after=page.end_cursor),
        order=ClaimOrder.LAST_CHANGED,
    )
    keys = [r.claim.key for _, r in rest.items]
    assert seen[1] not in keys
    assert keys[-1] == seen[0]  # it moved to the end, and is met there


def test_the_occurred_order_sorts_by_when_it_happened(article: Reader) -> None:
    page = article.list_claims(
        ClaimFilter(), page=PageRequest(first=100), order=ClaimOrder.OCCURRED
    )
    starts = [r.claim.occurred.start for _, r in page.items]
    known = [s for s in starts if s is not None]
    assert known == sorted(known)
    assert starts == known + [None] * (len(starts) - len(known))  # unknown last


def test_a_cursor_of_another_order_is_refused(article: Reader) -> None:
    page = article.list_claims(
        ClaimFilter(), page=PageRequest(first=1), order=ClaimOrder.LAST_CHANGED
    )
    assert page.end_cursor is not None
    with pytest.raises(InvalidInputError, match="LAST_CHANGED"):
        article.list_claims(
            ClaimFilter(), page=PageRequest(first=1, after=page.end_cursor)
        )
    with pytest.raises(InvalidInputError, match="malformed"):
        decode_claims_cursor("bm9wZQ==", ClaimOrder.PROPOSED)


def test_a_source_with_its_affiliates_is_one_filter(article: Reader) -> None:
    """Everything the US government and its officials said."""
    government = source_id_for("us-government")
    alone = set(walk(article, ClaimFilter(source_id=government)))
    affiliated = set(walk(article, ClaimFilter(source_id=government, affiliated=True)))
    officials = set()
    for key in ("us-officials", "pentagon", "patrick-ryder", "several-us-officials"):
        officials |= set(walk(article, ClaimFilter(source_id=source_id_for(key))))
    assert officials
    assert affiliated == alone | officials
    assert affiliated > alone


def test_date_ranges_hold_the_claims_whose_periods_may_overlap(
    article: Reader,
) -> None:
    everything = article.list_claims(ClaimFilter(), page=PageRequest(first=100)).items
    october = ClaimFilter(
        occurred_from=date(2023, 10, 7), occurred_to=date(2023, 10, 7)
    )
    held = {
        r.claim.key
        for _, r in article.list_claims(october, page=PageRequest(first=100)).items
    }
    for _, reading in everything:
        period: Period = reading.claim.occurred
        overlaps = (period.end is None or period.end >= date(2023, 10, 7)) and (
            period.start is None or period.start <= date(2023, 10, 7)
        )
        assert (reading.claim.key in held) == overlaps, reading.claim.key
    assert held

    said = ClaimFilter(reported_from=date(1900, 1, 1), reported_to=date(2999, 1, 1))
    assert len(walk(article, said)) == len(everything)
    never = ClaimFilter(reported_to=date(1900, 1, 1))
    assert walk(article, never) == []
