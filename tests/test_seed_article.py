"""The seed article, loaded into a real SQLite file, answers as the article says.

Every expected value below is read off seeds/article.txt: who said what,
through whom, and how precisely we know when.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from service.application import ClaimsLedger
from service.domain.claim import ReportedBasis
from service.domain.ids import claim_id_for
from service.domain.source import Source
from service.domain.status import ClaimStatus
from service.domain.values import StanceKind
from service.paging import PageRequest
from service.readings import Basis, ClaimFilter, Reader
from service.seeding import load_seeds
from tests.fakes import gql, nodes

ARTICLE = (Path(__file__).resolve().parent.parent / "seeds" / "article.txt").read_text()

BEIRUT = "quds-force-approved-attack-at-beirut-meeting"
TRAINING = "iran-trained-500-militants"
ATTENDANCE = "qaani-and-palestinian-officials-attended-training"
ISRAELI_ARMY_CLAIMS = {
    "iran-helped-hamas-before-war",
    "iran-helps-hamas-with-intelligence-now",
}

CURRENT = {
    # WSJ's anonymous sources affirm; US officials, via the WSJ, have no indications.
    TRAINING: ClaimStatus.CONTESTED,
    # UP calls it unclear; intelligence sources and US officials have no information.
    "training-was-preparation-for-7-october": ClaimStatus.UNSUBSTANTIATED,
    # The US government and the Pentagon's spokesman: no evidence, no direct link.
    "iran-directly-involved-in-attack": ClaimStatus.UNSUBSTANTIATED,
    # Hamas and Hezbollah officials via the WSJ affirm; senior US officials dispute.
    BEIRUT: ClaimStatus.CONTESTED,
    "iranian-leaders-surprised": ClaimStatus.SINGLE_SOURCE,
    "hamas-informed-irgc-when-attack-began": ClaimStatus.SINGLE_SOURCE,
    "iran-helped-hamas-before-war": ClaimStatus.SINGLE_SOURCE,
    "iran-helps-hamas-with-intelligence-now": ClaimStatus.SINGLE_SOURCE,
    "iran-regularly-trains-militants": ClaimStatus.SINGLE_SOURCE,
    # Who attended the September exercise: the WSJ's people familiar, alone.
    ATTENDANCE: ClaimStatus.SINGLE_SOURCE,
}


def statuses(
    reader: Reader, reported: ReportedBasis | None = None
) -> dict[str, ClaimStatus]:
    found = {}
    for key in CURRENT:
        reading = reader.claim(claim_id_for(key), Basis(reported=reported))
        assert reading is not None
        found[key] = reading.verdict.status
    return found


def names(reading_sources: Mapping[str, Source], chain: tuple[str, ...]) -> list[str]:
    return [reading_sources[s].name for s in chain]


@pytest.fixture
def article(seeded: ClaimsLedger, reader: Reader) -> Reader:
    return reader


def test_the_article_yields_ten_claims_from_thirteen_sources(article: Reader) -> None:
    page = article.list_claims(ClaimFilter(), page=PageRequest(first=100, after=None))
    assert [r.claim.key for _, r in page.items] == list(CURRENT)
    assert len(article.sources()) == 13


def test_current_status_of_each_claim(article: Reader) -> None:
    assert statuses(article) == CURRENT


def test_who_disputes_the_beirut_meeting_and_through_whom(article: Reader) -> None:
    reading = article.claim(claim_id_for(BEIRUT))
    assert reading is not None
    by_kind = {s.kind: names(reading.sources, s.chain) for s in reading.stances}
    assert by_kind == {
        StanceKind.AFFIRMS: [
            "Senior Hamas and Hezbollah officials",
            "The Wall Street Journal",
            "Ukrainska Pravda",
        ],
        StanceKind.DISPUTES: ["Senior US officials and others", "Ukrainska Pravda"],
    }


def test_anonymous_sources_via_the_wsj_count_as_the_wsj(article: Reader) -> None:
    reading = article.claim(claim_id_for(TRAINING))
    assert reading is not None
    voices = [reading.sources[g].name for g in reading.verdict.affirming_groups]
    assert voices == ["The Wall Street Journal"]


def test_the_pentagon_spokesman_speaks_for_the_us_government(article: Reader) -> None:
    reading = article.claim(claim_id_for("iran-directly-involved-in-attack"))
    assert reading is not None
    assert reading.verdict.no_evidence == 2
    ryder = next(s for s in reading.stances if "Ryder" in (s.quote or ""))
    assert names(reading.sources, ryder.chain) == ["Patrick Ryder", "Ukrainska Pravda"]
    assert reading.sources[ryder.origin_id].descriptor == "Pentagon spokesman"


def test_links_between_claims_are_as_the_article_sets_them(article: Reader) -> None:
    reading = article.claim(claim_id_for(BEIRUT))
    assert reading is not None
    outgoing = {
        (link.kind.value, link.target_id) for link in reading.claim.active_links()
    }
    assert outgoing == {
        ("REFINES", str(claim_id_for("iran-directly-involved-in-attack")))
    }
    incoming = {(i.link.kind.value, i.from_claim_id) for i in reading.incoming}
    assert incoming == {("CONTRADICTS", claim_id_for("iranian-leaders-surprised"))}


def test_who_attended_the_september_exercise_is_a_claim_of_its_own(
    article: Reader,
) -> None:
    reading = article.claim(claim_id_for(ATTENDANCE))
    assert reading is not None
    claim = reading.claim
    assert "Esmail Qaani" in claim.text
    assert "High-ranking Palestinian officials" in claim.text
    assert {"Esmail Qaani", "Quds Force"} <= set(claim.about)
    assert claim.occurred.to_dict() == {
        "start": "2023-09-01",
        "end": "2023-09-30",
        "precision": "MONTH",
    }
    (stance,) = reading.stances
    assert stance.kind is StanceKind.AFFIRMS
    assert names(reading.sources, stance.chain) == [
        "People familiar with intelligence",
        "The Wall Street Journal",
        "Ukrainska Pravda",
    ]
    assert stance.quote is not None
    assert stance.quote in ARTICLE
    assert "Qaani" in stance.quote
    assert reading.verdict.status is ClaimStatus.SINGLE_SOURCE
    outgoing = {(link.kind.value, link.target_id) for link in claim.active_links()}
    assert outgoing == {("REFINES", str(claim_id_for(TRAINING)))}
    training = article.claim(claim_id_for(TRAINING))
    assert training is not None
    assert ("REFINES", claim_id_for(ATTENDANCE)) in {
        (i.link.kind.value, i.from_claim_id) for i in training.incoming
    }


def test_a_search_for_qaani_finds_who_attended_the_exercise(
    client: httpx.Client,
) -> None:
    body = gql(
        client,
        """{ claims(text: "Qaani") { totalCount edges { node {
             key text about
             stances { edges { node { kind quote chain { source { name } } } } }
             links { edges { node { kind toClaim { key } } } } } } } }""",
    )
    assert "errors" not in body, body["errors"]
    found = body["data"]["claims"]
    assert found["totalCount"] == 1
    (edge,) = found["edges"]
    node = edge["node"]
    assert node["key"] == ATTENDANCE
    assert "Esmail Qaani" in node["text"]
    assert "Esmail Qaani" in node["about"]
    (stance,) = nodes(node["stances"])
    assert stance["kind"] == "AFFIRMS"
    assert stance["quote"] in ARTICLE
    assert [hop["source"]["name"] for hop in stance["chain"]] == [
        "People familiar with intelligence",
        "The Wall Street Journal",
        "Ukrainska Pravda",
    ]
    assert nodes(node["links"]) == [{"kind": "REFINES", "toClaim": {"key": TRAINING}}]


def test_nothing_is_known_to_have_been_said_by_20_october(article: Reader) -> None:
    # The article dates no statement before its own 26 October, except the
    # Israeli army's of Wednesday the 25th.
    found = statuses(article, ReportedBasis(date(2023, 10, 20), certain=True))
    assert set(found.values()) == {ClaimStatus.UNATTESTED}


def test_what_may_have_been_said_by_20_october(article: Reader) -> None:
    found = statuses(article, ReportedBasis(date(2023, 10, 20), certain=False))
    expected = dict(CURRENT)
    for key in ISRAELI_ARMY_CLAIMS:
        expected[key] = ClaimStatus.UNATTESTED
    assert found == expected


def test_by_25_october_only_the_israeli_army_is_known_to_have_spoken(
    article: Reader,
) -> None:
    found = statuses(article, ReportedBasis(date(2023, 10, 25), certain=True))
    assert {k for k, v in found.items() if v is not ClaimStatus.UNATTESTED} == (
        ISRAELI_ARMY_CLAIMS
    )
    assert all(found[k] is ClaimStatus.SINGLE_SOURCE for k in ISRAELI_ARMY_CLAIMS)


def test_by_the_article_date_everything_is_known(article: Reader) -> None:
    assert statuses(article, ReportedBasis(date(2023, 10, 26))) == CURRENT


def test_the_beirut_claim_at_each_version(article: Reader) -> None:
    claim_id = claim_id_for(BEIRUT)
    by_version = {}
    for version in (1, 2, 3, 4):
        reading = article.claim(claim_id, Basis(version=version))
        assert reading is not None
        by_version[version] = reading.verdict.status
    assert by_version == {
        1: ClaimStatus.UNATTESTED,
        2: ClaimStatus.SINGLE_SOURCE,
        3: ClaimStatus.CONTESTED,
        4: ClaimStatus.CONTESTED,
    }


def test_the_beirut_claim_as_the_ledger_held_it_at_recorded_times(
    article: Reader,
) -> None:
    claim_id = claim_id_for(BEIRUT)
    history = article.history(claim_id)
    proposed, affirmed, disputed = (h.recorded_at for h in history[:3])

    before = article.claim(
        claim_id, Basis(recorded_at=proposed - timedelta(seconds=0.5))
    )
    at_affirmation = article.claim(claim_id, Basis(recorded_at=affirmed))
    at_dispute = article.claim(claim_id, Basis(recorded_at=disputed))

    assert proposed < affirmed < disputed
    assert before is None
    assert at_affirmation is not None
    assert at_affirmation.verdict.status is ClaimStatus.SINGLE_SOURCE
    assert at_dispute is not None
    assert at_dispute.verdict.status is ClaimStatus.CONTESTED


def test_both_clocks_combined(article: Reader) -> None:
    """What the ledger said, when only the affirmation was recorded, about what
    had been said by 20 October."""
    claim_id = claim_id_for(BEIRUT)
    affirmed = article.history(claim_id)[1].recorded_at
    maybe = ReportedBasis(date(2023, 10, 20), certain=False)
    known = ReportedBasis(date(2023, 10, 20), certain=True)

    possible = article.claim(claim_id, Basis(recorded_at=affirmed, reported=maybe))
    certain = article.claim(claim_id, Basis(recorded_at=affirmed, reported=known))

    assert possible is not None
    assert possible.verdict.status is ClaimStatus.SINGLE_SOURCE
    assert certain is not None
    assert certain.verdict.status is ClaimStatus.UNATTESTED


def test_the_beirut_claim_history(article: Reader) -> None:
    history = article.history(claim_id_for(BEIRUT))
    assert [h.event_type for h in history] == [
        "Claim.Proposed",
        "Claim.StanceRecorded",
        "Claim.StanceRecorded",
        "Claim.Linked",
    ]
    assert [h.version for h in history] == [1, 2, 3, 4]
    assert {h.actor for h in history} == {"seed-loader"}
    positions = [h.position or 0 for h in history]
    assert all(positions)
    assert positions == sorted(positions)
    assert history[2].payload["kind"] == "DISPUTES"
    assert history[2].reported == {
        "start": "2023-10-07",
        "end": "2023-10-26",
        "precision": "UNKNOWN",
    }
    assert {c.path.rsplit(".", 1)[-1] for c in history[3].changes} == {
        "target",
        "kind",
        "note",
    }


def test_dates_are_only_as_precise_as_the_article(article: Reader) -> None:
    meeting = article.claim(claim_id_for(BEIRUT))
    training = article.claim(claim_id_for(TRAINING))
    israeli = article.claim(claim_id_for("iran-helped-hamas-before-war"))
    assert meeting is not None
    assert training is not None
    assert israeli is not None
    assert meeting.claim.occurred.to_dict() == {
        "start": "2023-10-02",
        "end": "2023-10-02",
        "precision": "DAY",
    }
    assert training.claim.occurred.precision.value == "MONTH"
    assert israeli.stances[0].reported.to_dict() == {
        "start": "2023-10-25",
        "end": "2023-10-25",
        "precision": "DAY",
    }


def test_loading_twice_records_nothing_new(seeded: ClaimsLedger) -> None:
    before = seeded.last_position()
    report = load_seeds(seeded)
    assert report.recorded == 0
    assert seeded.last_position() == before


def test_a_store_seeded_before_the_attendance_claim_gains_only_it(
    ledger: ClaimsLedger, tmp_path: Path
) -> None:
    """Adding a claim to seeds/ is safe for stores that already hold the rest:
    the next start records that claim, its stance and its link, nothing else."""
    seeds = Path(__file__).resolve().parent.parent / "seeds"
    data = json.loads((seeds / "claims.json").read_text())
    data["claims"] = [c for c in data["claims"] if c["key"] != ATTENDANCE]
    (tmp_path / "claims.json").write_text(json.dumps(data))
    shutil.copy(seeds / "sources.json", tmp_path / "sources.json")
    load_seeds(ledger, tmp_path)

    assert load_seeds(ledger).recorded == 3
    assert load_seeds(ledger).recorded == 0
