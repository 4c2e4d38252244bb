"""A claim reading's own lists, a page at a time: its stances, the links
from it and the links to it. A reading holds each of them whole (its status
is judged from every stance), so a page is a window over what is in hand;
paging bounds what an answer carries, however many stances a claim has.

A cursor is an item's place, which stays put while the list grows and
whatever filter a page applies: a stance's or a link's place among the
claim's own, in the order they were recorded; a link to the claim, the
log position it was recorded at."""

from __future__ import annotations

from collections.abc import Collection

from service.domain.claim import Link, StanceState
from service.domain.values import StanceKind
from service.paging import Page, PageRequest, page_in_hand
from service.readings import ClaimReading
from service.views.reads import IncomingLink

STANCES = "stances"
LINKS = "links"
LINKED_FROM = "linkedFrom"


def stance_page(
    reading: ClaimReading,
    page: PageRequest,
    kinds: Collection[StanceKind] | None = None,
    include_retracted: bool = True,
) -> Page[StanceState]:
    """The reading's stances of these kinds (all when None), retracted ones
    too unless told otherwise, in the order recorded."""
    place = {stance_id: i for i, stance_id in enumerate(reading.claim.stances)}
    placed = [
        (place[stance.stance_id], stance)
        for stance in reading.stances
        if (kinds is None or stance.kind in kinds)
        and (include_retracted or stance.in_force)
    ]
    return page_in_hand(STANCES, placed, page, reading.position)


def link_page(reading: ClaimReading, page: PageRequest) -> Page[Link]:
    """Links from the claim in force at the reading's basis, in the order
    recorded."""
    place = {link_id: i for i, link_id in enumerate(reading.claim.links)}
    placed = [(place[link.link_id], link) for link in reading.outgoing]
    return page_in_hand(LINKS, placed, page, reading.position)


def linked_from_page(reading: ClaimReading, page: PageRequest) -> Page[IncomingLink]:
    """Links to the claim from others, in force at the reading's basis, in
    the order recorded."""
    placed = sorted(
        ((link.linked_position, link) for link in reading.incoming),
        key=lambda placed: placed[0],
    )
    return page_in_hand(LINKED_FROM, placed, page, reading.position)
