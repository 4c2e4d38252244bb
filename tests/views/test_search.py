"""Search finds claims by the words of their wording, quotes and sources, in
any order, stemmed, by prefix; filters come from the views' indexes."""

from __future__ import annotations

import pytest

from service.application import ClaimsLedger
from service.domain.ids import source_id_for
from service.domain.status import ClaimStatus
from service.paging import PageRequest
from service.readings import ClaimFilter, Reader


def keys(reader: Reader, claim_filter: ClaimFilter) -> set[str | None]:
    page = reader.list_claims(claim_filter, page=PageRequest(first=100))
    return {reading.claim.key for _, reading in page.items}


@pytest.fixture
def article(seeded: ClaimsLedger, reader: Reader) -> Reader:
    return reader


def test_words_in_any_order_find_the_claim(article: Reader) -> None:
    assert keys(article, ClaimFilter(text="beirut meeting")) == {
        "quds-force-approved-attack-at-beirut-meeting"
    }
    assert keys(article, ClaimFilter(text="Meeting BEIRUT")) == {
        "quds-force-approved-attack-at-beirut-meeting"
    }


def test_a_word_finds_its_other_forms(article: Reader) -> None:
    militant = keys(article, ClaimFilter(text="militant"))
    assert "iran-regularly-trains-militants" in militant
    assert militant == keys(article, ClaimFilter(text="militants"))
    assert "iran-regularly-trains-militants" in keys(article, ClaimFilter(text="train"))


def test_a_prefix_finds_the_words_it_begins(article: Reader) -> None:
    assert "iran-regularly-trains-militants" in keys(article, ClaimFilter(text="milit"))


def test_a_source_s_name_finds_the_claims_it_is_cited_in(article: Reader) -> None:
    """Every chain of the seed article ends with its publisher, so its name
    finds every claim; the Pentagon's finds only the claims whose chains
    name it (or its spokesman, whose descriptor names it); a word of
    nobody's finds nothing."""
    everything = keys(article, ClaimFilter())
    assert keys(article, ClaimFilter(text="ukrainska")) == everything
    pentagon = keys(article, ClaimFilter(text="pentagon"))
    assert keys(article, ClaimFilter(source_id=source_id_for("pentagon"))) <= pentagon
    assert pentagon
    assert pentagon < everything
    assert keys(article, ClaimFilter(text="zzzz")) == set()
    assert keys(article, ClaimFilter(text="!!")) == set()


def test_filters_combine_and_count(article: Reader) -> None:
    contested = ClaimFilter(status=ClaimStatus.CONTESTED)
    both = ClaimFilter(status=ClaimStatus.CONTESTED, text="iran")
    assert keys(article, both) <= keys(article, contested)
    assert article.count_claims(both) == len(keys(article, both))
    everything = article.count_claims(ClaimFilter())
    assert everything == len(keys(article, ClaimFilter()))
    assert article.count_claims(ClaimFilter(text="zzzz")) == 0


def test_an_entity_filter_ignores_case(article: Reader) -> None:
    page = article.list_claims(ClaimFilter(), page=PageRequest(first=1))
    entity = page.items[0][1].claim.about[0]
    upper = keys(article, ClaimFilter(entity=entity.upper()))
    assert page.items[0][1].claim.key in upper
    assert upper == keys(article, ClaimFilter(entity=entity.lower()))
