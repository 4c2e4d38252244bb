"""Lists, and single claims, as the ledger held them at a basis: a recorded
time or a position of the log. A position an answer reports answers the
same again, whatever is written since; filters judge each claim as it stood
there, not as it stands now."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from service.application import Actor, ClaimsLedger
from service.application.commands import (
    AmendSource,
    CorrectStance,
    LinkClaims,
    ProposeClaim,
    RecordStance,
    RegisterSource,
)
from service.domain.claim import StanceChanges
from service.domain.errors import InvalidInputError
from service.domain.ids import claim_id_for, source_id_for
from service.domain.source import SourceChanges, SourceProfile
from service.domain.status import ClaimStatus
from service.domain.values import LinkKind, Period, SourceKind, StanceKind
from service.history import summarise
from service.paging import Page, PageRequest
from service.readings import Basis, ClaimFilter, ClaimReading, Reader
from service.seeding import load_seeds
from service.settings import Settings
from service.views.reads import ClaimOrder, Views

EDITOR = Actor("editor")
EVERY_CLAIM = ClaimFilter()
NOW = Basis()
BEIRUT = "quds-force-approved-attack-at-beirut-meeting"
WSJ = "wsj"


@pytest.fixture
def article(seeded: ClaimsLedger, reader: Reader) -> Reader:
    return reader


def picture(reading: ClaimReading) -> dict[str, Any]:
    """All a reading shows: state, status, the sources' versions, links."""
    return {
        "claim": summarise(reading.claim),
        "version": reading.claim.version,
        "status": reading.verdict,
        "sources": {
            sid: reading.sources[sid].version
            for stance in reading.stances
            for sid in stance.chain
        },
        "incoming": [(i.from_claim_id, i.link.link_id) for i in reading.incoming],
        "outgoing": [link.link_id for link in reading.outgoing],
    }


def listed(page: Page[ClaimReading]) -> list[tuple[str | None, ClaimStatus]]:
    return [(r.claim.key, r.verdict.status) for _, r in page.items]


def stance(ledger: ClaimsLedger, claim_id: UUID, kind: StanceKind, source: str) -> None:
    claim = ledger.get_claim(claim_id)
    ledger.record_stance(
        EDITOR,
        RecordStance(
            claim_id=claim_id,
            expected_version=claim.version,
            kind=kind,
            chain=(source_id_for(source),),
            reported=Period.day(date(2023, 11, 5)),
        ),
    )


def propose(ledger: ClaimsLedger, text: str, key: str) -> UUID:
    return ledger.propose_claim(EDITOR, ProposeClaim(text=text, key=key)).aggregate_id


def test_a_position_answers_the_same_again_after_more_writes(
    seeded: ClaimsLedger, article: Reader
) -> None:
    beirut = claim_id_for(BEIRUT)
    now = article.claim(beirut)
    assert now is not None
    page = article.list_claims(EVERY_CLAIM, page=PageRequest(first=100))
    position = page.position
    assert now.position == position

    # a stance, a link to it, a renamed source, a new claim: all later
    stance(seeded, beirut, StanceKind.DISPUTES, WSJ)
    newcomer = propose(seeded, "A claim recorded after the answer.", "newcomer")
    seeded.link_claims(
        EDITOR,
        LinkClaims(newcomer, 1, beirut, LinkKind.CONTRADICTS, note=None),
    )
    wsj = seeded.get_source(source_id_for(WSJ))
    seeded.amend_source(
        EDITOR,
        AmendSource(wsj.id, wsj.version, SourceChanges(name="WSJ"), "house style"),
    )

    again = article.claim(beirut, Basis(position=position))
    assert again is not None
    assert picture(again) == picture(now)
    assert again.position == position
    assert again.basis.position == position
    at = article.list_claims(
        EVERY_CLAIM, page=PageRequest(first=100), basis=Basis(position=position)
    )
    assert listed(at) == listed(page)
    assert [picture(r) for _, r in at.items] == [picture(r) for _, r in page.items]
    assert at.position == position
    assert article.count_claims(EVERY_CLAIM, Basis(position=position)) == len(
        page.items
    )
    later = article.list_claims(EVERY_CLAIM, page=PageRequest(first=100))
    assert "newcomer" in [key for key, _ in listed(later)]


def test_a_filter_at_a_basis_judges_the_claim_as_it_stood(
    seeded: ClaimsLedger, article: Reader
) -> None:
    """A claim affirmed, then disputed: listed by its status then, at a
    position between, and by its status now, now."""
    claim_id = propose(seeded, "Affirmed first, disputed later.", "turned")
    stance(seeded, claim_id, StanceKind.AFFIRMS, "israeli-army")
    then = article.claim(claim_id)
    assert then is not None
    position = then.position
    stance(seeded, claim_id, StanceKind.DISPUTES, "patrick-ryder")
    now = article.claim(claim_id)
    assert now is not None
    assert now.verdict.status != then.verdict.status

    def keys(status: ClaimStatus, basis: Basis = NOW) -> list[str | None]:
        found = article.list_claims(
            ClaimFilter(status=status), page=PageRequest(first=100), basis=basis
        )
        return [r.claim.key for _, r in found.items]

    at = Basis(position=position)
    assert "turned" in keys(then.verdict.status, at)
    assert "turned" not in keys(now.verdict.status, at)
    assert "turned" in keys(now.verdict.status)
    assert "turned" not in keys(then.verdict.status)

    # cited by the Pentagon's spokesman only after the position
    by_ryder = ClaimFilter(source_id=source_id_for("patrick-ryder"))
    now_keys = article.list_claims(by_ryder, page=PageRequest(first=100)).items
    then_keys = article.list_claims(
        by_ryder, page=PageRequest(first=100), basis=at
    ).items
    assert "turned" in [r.claim.key for _, r in now_keys]
    assert "turned" not in [r.claim.key for _, r in then_keys]


def test_a_list_at_a_recorded_time_holds_the_claims_proposed_by_then(
    seeded: ClaimsLedger, article: Reader
) -> None:
    seeds = [
        r.claim.key
        for _, r in article.list_claims(EVERY_CLAIM, page=PageRequest(first=100)).items
    ]
    last_seed = (
        article.list_claims(EVERY_CLAIM, page=PageRequest(last=1)).items[0][1].claim
    )
    propose(seeded, "Recorded after the seeds.", "after-the-seeds")
    at = Basis(recorded_at=last_seed.created_on)
    then = article.list_claims(EVERY_CLAIM, page=PageRequest(first=100), basis=at)
    assert [r.claim.key for _, r in then.items] == seeds
    assert all(r.basis.recorded_at == last_seed.created_on for _, r in then.items)
    assert article.count_claims(EVERY_CLAIM, at) == len(seeds)


def test_pages_at_a_basis_walk_either_way(
    seeded: ClaimsLedger, article: Reader
) -> None:
    position = article.list_claims(EVERY_CLAIM, page=PageRequest(first=0)).position
    propose(seeded, "Not there yet.", "not-there-yet")
    at = Basis(position=position)
    everything = listed(
        article.list_claims(EVERY_CLAIM, page=PageRequest(first=100), basis=at)
    )
    for descending in (False, True):
        expected = everything[::-1] if descending else everything
        for backward in (False, True):
            found: list[Any] = []
            cursor: str | None = None
            for _ in range(100):
                if backward:
                    page = article.list_claims(
                        EVERY_CLAIM,
                        page=PageRequest(last=3, before=cursor),
                        descending=descending,
                        basis=at,
                    )
                    found = listed(page) + found
                    more, cursor = page.has_previous, page.start_cursor
                else:
                    page = article.list_claims(
                        EVERY_CLAIM,
                        page=PageRequest(first=3, after=cursor),
                        descending=descending,
                        basis=at,
                    )
                    found += listed(page)
                    more, cursor = page.has_next, page.end_cursor
                if not more:
                    break
            assert found == expected, (descending, backward)


def test_what_a_list_at_a_basis_cannot_do_is_refused(article: Reader) -> None:
    at = Basis(
        position=article.list_claims(EVERY_CLAIM, page=PageRequest(first=0)).position
    )
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"claim_filter": ClaimFilter(text="beirut")}, "text"),
        ({"order": ClaimOrder.OCCURRED}, "orderBy"),
        ({"basis": Basis(version=2)}, "asOf.version"),
    ]
    for arguments, field in refusals:
        call: dict[str, Any] = {"claim_filter": EVERY_CLAIM, "basis": at}
        call.update(arguments)
        with pytest.raises(InvalidInputError) as refused:
            article.list_claims(
                call.pop("claim_filter"), page=PageRequest(first=5), **call
            )
        assert refused.value.details["field"] == field
    with pytest.raises(InvalidInputError) as refused:
        article.count_claims(ClaimFilter(status=ClaimStatus.CONTESTED), at)
    assert refused.value.details["field"] == "totalCount"
    with pytest.raises(InvalidInputError):
        article.claim(claim_id_for(BEIRUT), Basis(version=1, position=at.position))


def test_a_reading_made_while_the_views_move_is_as_of_its_position(
    seeded: ClaimsLedger,
) -> None:
    """Stances are written and applied to the views while the claim is read:
    each reading reports the position it reflects, and asked again at that
    position answers the same."""
    views = Views(seeded)
    views.catch_up()
    reader = Reader(seeded, views, followed=True)
    beirut = claim_id_for(BEIRUT)
    done = threading.Event()

    def write() -> None:
        try:
            for _ in range(40):
                stance(seeded, beirut, StanceKind.AFFIRMS, "israeli-army")
        finally:
            done.set()

    def follow() -> None:
        while not done.is_set():
            views.catch_up()

    threads = [threading.Thread(target=write), threading.Thread(target=follow)]
    for thread in threads:
        thread.start()
    try:
        readings = 0
        while not done.is_set() or readings < 20:
            now = reader.claim(beirut)
            assert now is not None
            again = reader.claim(beirut, Basis(position=now.position))
            assert again is not None
            assert picture(again) == picture(now)
            readings += 1
    finally:
        done.set()
        for thread in threads:
            thread.join()


def test_a_stance_corrected_twice_is_found_by_its_middle_correction_at_a_basis(
    seeded: ClaimsLedger, article: Reader
) -> None:
    claim_id = propose(seeded, "Said, corrected, corrected again.", "twice")
    stance(seeded, claim_id, StanceKind.AFFIRMS, WSJ)
    (stance_id,) = seeded.get_claim(claim_id).stances
    for day, quote in ((7, "the first correction"), (9, "the second")):
        claim = seeded.get_claim(claim_id)
        seeded.correct_stance(
            EDITOR,
            CorrectStance(
                claim_id,
                claim.version,
                UUID(stance_id),
                StanceChanges(quote=quote),
                "the outlet corrected it",
                Period.day(date(2023, 11, day)),
            ),
        )
    middle = ClaimFilter(reported_from=date(2023, 11, 7), reported_to=date(2023, 11, 7))
    position = article.list_claims(EVERY_CLAIM, page=PageRequest(first=0)).position

    def keys(basis: Basis) -> list[str | None]:
        found = article.list_claims(middle, page=PageRequest(first=100), basis=basis)
        return [r.claim.key for _, r in found.items]

    assert "twice" in keys(NOW)
    assert "twice" in keys(Basis(position=position))


def test_following_a_page_s_flag_stops_at_the_other_cursor(article: Reader) -> None:
    """With both cursors, hasNextPage (first) and hasPreviousPage (last) say
    what lies between them: a client following them stops there."""
    every = article.list_claims(EVERY_CLAIM, page=PageRequest(first=100))
    cursors = [cursor for cursor, _ in every.items]
    low, high = cursors[1], cursors[6]
    between = [r.claim.key for _, r in every.items[2:6]]
    at = Basis(position=every.position)
    for basis in (NOW, at):
        found: list[str | None] = []
        cursor: str | None = low
        for _ in range(20):
            page = article.list_claims(
                EVERY_CLAIM,
                page=PageRequest(first=3, after=cursor, before=high),
                basis=basis,
            )
            found += [r.claim.key for _, r in page.items]
            if not page.has_next:
                break
            cursor = page.end_cursor
        assert found == between, basis
        back: list[str | None] = []
        cursor = high
        for _ in range(20):
            page = article.list_claims(
                EVERY_CLAIM,
                page=PageRequest(last=3, before=cursor, after=low),
                basis=basis,
            )
            back = [r.claim.key for _, r in page.items] + back
            if not page.has_previous:
                break
            cursor = page.start_cursor
        assert back == between, basis


def test_an_older_snapshot_taken_in_late_never_winds_the_views_back(
    seeded: ClaimsLedger,
) -> None:
    """A read pinned to a snapshot, taken in after another thread took in a
    later one: nothing is taken, nothing is lost (the interleaving forced by
    holding the older snapshot open)."""
    views = Views(seeded)
    views.catch_up()
    with views.pinned() as then:
        stance(seeded, claim_id_for(BEIRUT), StanceKind.AFFIRMS, "israeli-army")
        seeded.register_source(
            EDITOR, RegisterSource(SourceProfile(name="Late", kind=SourceKind.OUTLET))
        )
        later = Views(seeded)  # another process's follower applies them
        later.catch_up()
        later.close()
        now = threading.Thread(target=views.refresh)  # another thread takes in
        now.start()
        now.join()
        ahead = views.position
        assert ahead > then
        with views._db.reading() as old:
            assert views._take(old, onward=True) == then
        assert views.position == ahead
        assert views.directory.position == ahead
        assert "Late" in {s.name for s in views.sources_as_of(ahead).values()}
    views.close()


def test_an_in_memory_store_reads_at_a_version_and_pages_history() -> None:
    """An in-memory SQLite store has one connection: its reads are not
    pinned (a pinned read would hold it while loading a past version)."""
    ledger = ClaimsLedger(env=Settings(db_path=":memory:").ledger_env())
    try:
        load_seeds(ledger)
        reader = Reader(ledger, Views(ledger))
        beirut = claim_id_for(BEIRUT)
        assert [e.version for e in reader.history(beirut)] == [1, 2, 3, 4]
        reading = reader.claim(beirut, Basis(version=2))
        assert reading is not None
        assert reading.claim.version == 2
    finally:
        ledger.close()
