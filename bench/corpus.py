"""A realistic corpus, quickly, through the application's own write path.

    .venv/bin/python bench/corpus.py --claims 20000 [--events-per-claim 5]
        (--db FILE | --database-url URL) [--hot-every 2000] [--hot-events 2000]
        [--seed 1] [--batch 500]

The seed article first, then claims shaped like it: statements about Iran,
Hamas and Hezbollah, attributed through chains of two or three sources (an
anonymous group affiliated to a government or a movement, passed on by an
outlet), affirmed, disputed and denied; some stances retracted or corrected,
some wordings corrected, claims linked to earlier ones (and some links
withdrawn). Every write is a use case of ``ClaimsLedger`` with the same checks
as over GraphQL, run by ``write_batch`` as group commit runs concurrent
requests (``--batch`` writes per transaction), so the log holds what the
service itself would have written. One claim in ``--hot-every`` gets
``--hot-events`` events: the long streams a live story collects.

A progress bar on a terminal, none when piped; a last line with the figures.
The same ``--seed`` gives the same corpus's shape (ids and times differ).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.application import Actor, ClaimsLedger, WriteResult
from service.application.commands import (
    Command,
    CorrectStance,
    CorrectWording,
    LinkClaims,
    ProposeClaim,
    RecordStance,
    RegisterSource,
    RetractStance,
    WithdrawLink,
)
from service.application.ledger import Write
from service.domain.claim import StanceChanges
from service.domain.ids import claim_id_for, source_id_for
from service.domain.source import SourceProfile
from service.domain.values import LinkKind, Period, SourceKind, StanceKind
from service.seeding import load_seeds
from service.settings import Settings

ACTORS = ("Iran", "the IRGC", "the Quds Force", "Hamas", "Hezbollah", "Israel")
DOINGS = (
    "trained {n} militants in {place}",
    "supplied rockets and money to {other}",
    "met commanders of {other} in {place}",
    "approved the attack at a meeting in {place}",
    "had no direct role in the operation planned in {place}",
    "shared intelligence on the border with {other}",
    "paid fighters of {other} through couriers in {place}",
)
PLACES = ("Beirut", "Tehran", "Gaza", "Damascus", "southern Lebanon", "Sinai")
MOVEMENTS = ("Hamas", "Hezbollah", "Islamic Jihad")
GOVERNMENTS = ("US government", "Israeli government", "Iranian government")
OUTLETS = ("The Daily Ledger", "Wire Service", "Evening Courier", "Coastal Times")
REASONS = ("a transcription error", "the source clarified", "a misattribution")


@dataclass
class ClaimState:
    id: UUID
    text: str
    version: int = 1
    stances: list[UUID] = field(default_factory=list)  # in force
    links: list[tuple[UUID, UUID, LinkKind]] = field(default_factory=list)
    linked: set[tuple[UUID, LinkKind]] = field(default_factory=set)  # in force


@dataclass
class Corpus:
    """The generator's own picture of what it has written, so that every
    write it makes is valid: versions, stances and links in force."""

    rng: random.Random
    claims: list[ClaimState] = field(default_factory=list)
    origins: list[UUID] = field(default_factory=list)  # anonymous or named
    tellers: list[UUID] = field(default_factory=list)  # outlets
    made: int = 0

    def text(self) -> str:
        rng = self.rng
        doing = rng.choice(DOINGS).format(
            n=rng.choice((50, 120, 500, 800)),
            place=rng.choice(PLACES),
            other=rng.choice(MOVEMENTS),
        )
        return f"{rng.choice(ACTORS)} {doing}."

    def day(self) -> Period:
        return Period.day(date(2023, 9, 1) + timedelta(days=self.rng.randrange(120)))

    def chain(self) -> tuple[UUID, ...]:
        rng = self.rng
        origin = rng.choice(self.origins)
        hops = rng.choice((1, 2, 2, 2, 3))
        tellers = rng.sample(self.tellers, k=min(hops - 1, len(self.tellers)))
        return (origin, *tellers)


def sources(corpus: Corpus) -> Iterator[Planned]:
    """Governments, movements, outlets, officials, and anonymous groups
    affiliated to them, registered under keys so their ids are known now."""
    editor = Actor("corpus")

    def register(key: str, profile: SourceProfile) -> Planned:
        return Planned("register_source", editor, RegisterSource(profile, key))

    parents = {}
    for name in (*GOVERNMENTS, *MOVEMENTS):
        key = f"corpus-{name.lower().replace(' ', '-')}"
        kind = (
            SourceKind.GOVERNMENT_BODY
            if name in GOVERNMENTS
            else SourceKind.ORGANISATION
        )
        parents[name] = source_id_for(key)
        corpus.origins.append(parents[name])
        yield register(key, SourceProfile(name=name, kind=kind))
    for name in OUTLETS:
        key = f"corpus-{name.lower().replace(' ', '-')}"
        corpus.tellers.append(source_id_for(key))
        yield register(key, SourceProfile(name=name, kind=SourceKind.OUTLET))
    for i, parent in enumerate((*GOVERNMENTS, *MOVEMENTS) * 4):
        key = f"corpus-anonymous-{i}"
        corpus.origins.append(source_id_for(key))
        yield register(
            key,
            SourceProfile(
                name=f"{parent} officials ({i})",
                kind=SourceKind.ANONYMOUS_GROUP,
                anonymous=True,
                descriptor=f"officials of the {parent}, speaking on condition "
                "of anonymity",
                affiliation_id=parents[parent],
            ),
        )


@dataclass(frozen=True)
class Planned:
    """A write, planned before the ledger runs it: a use case by name."""

    use_case: str
    actor: Actor
    command: Command

    def on(self, ledger: ClaimsLedger) -> Write:
        return Write(getattr(ledger, self.use_case), self.actor, self.command)


def claim_writes(
    corpus: Corpus, n: int, events: int, earlier: list[ClaimState]
) -> list[Planned]:
    """One claim's writes, in order: its proposal, then ``events - 1`` more;
    links go to ``earlier`` claims, whose proposals come before these."""
    rng = corpus.rng
    actor = Actor(rng.choice(("alice", "bob", "corpus")))
    key = f"corpus-claim-{n}-{uuid4().hex[:8]}"
    state = ClaimState(claim_id_for(key), corpus.text())
    proposal = ProposeClaim(
        text=state.text,
        about=tuple(rng.sample(ACTORS, k=2)),
        occurred=corpus.day() if rng.random() < 0.7 else Period.unknown(),
        key=key,
    )
    writes = [Planned("propose_claim", actor, proposal)]
    for _ in range(events - 1):
        writes.append(next_write(corpus, state, actor, earlier))
        state.version += 1
    corpus.claims.append(state)
    return writes


def next_write(
    corpus: Corpus, state: ClaimState, actor: Actor, earlier: list[ClaimState]
) -> Planned:
    rng = corpus.rng
    roll = rng.random()
    at = (state.id, state.version)
    if state.stances and roll < 0.08:
        stance = state.stances.pop(rng.randrange(len(state.stances)))
        command: Command = RetractStance(
            *at, stance_id=stance, reason=rng.choice(REASONS), reported=corpus.day()
        )
        return Planned("retract_stance", actor, command)
    if state.stances and roll < 0.16:
        corpus.made += 1
        command = CorrectStance(
            *at,
            stance_id=rng.choice(state.stances),
            changes=StanceChanges(
                quote=f"“{corpus.text()}” (as corrected, {corpus.made})"
            ),
            reason=rng.choice(REASONS),
            reported=corpus.day(),
        )
        return Planned("correct_stance", actor, command)
    if roll < 0.22:
        text = corpus.text()
        while text == state.text:
            text = corpus.text()
        state.text = text
        command = CorrectWording(*at, text=text, reason=rng.choice(REASONS))
        return Planned("correct_wording", actor, command)
    if earlier and roll < 0.30:
        target, kind = rng.choice(earlier).id, rng.choice(list(LinkKind))
        if target != state.id and (target, kind) not in state.linked:
            link = uuid4()
            state.links.append((link, target, kind))
            state.linked.add((target, kind))
            command = LinkClaims(*at, target_id=target, kind=kind, link_id=link)
            return Planned("link_claims", actor, command)
    if state.links and roll < 0.32:
        link, target, kind = state.links.pop(rng.randrange(len(state.links)))
        state.linked.discard((target, kind))
        command = WithdrawLink(*at, link_id=link, reason=rng.choice(REASONS))
        return Planned("withdraw_link", actor, command)
    stance = uuid4()
    state.stances.append(stance)
    kinds = (
        (StanceKind.AFFIRMS,) * 5
        + (StanceKind.DISPUTES,) * 2
        + (
            StanceKind.DENIES,
            StanceKind.NO_EVIDENCE,
        )
    )
    command = RecordStance(
        *at,
        kind=rng.choice(kinds),
        chain=corpus.chain(),
        reported=corpus.day(),
        quote=f"“{corpus.text()}”" if rng.random() < 0.5 else None,
        stance_id=stance,
    )
    return Planned("record_stance", actor, command)


def interleaved(corpus: Corpus, args: argparse.Namespace) -> Iterator[Planned]:
    """Claims in windows of fifty, their writes shuffled together (each
    claim's own stay in order), as a newsroom's would interleave."""
    window = 50
    for start in range(0, args.claims, window):
        earlier = corpus.claims[-5000:]
        streams = []
        for n in range(start, min(start + window, args.claims)):
            hot = args.hot_every and n % args.hot_every == args.hot_every - 1
            count = (
                args.hot_events
                if hot
                else corpus.rng.randint(1, 2 * args.events_per_claim - 1)
            )
            streams.append(iter(claim_writes(corpus, n, count, earlier)))
        live = [s for s in streams]
        while live:
            stream = corpus.rng.choice(live)
            try:
                yield next(stream)
            except StopIteration:
                live.remove(stream)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, required=True)
    parser.add_argument("--events-per-claim", type=int, default=5)
    store = parser.add_mutually_exclusive_group(required=True)
    store.add_argument("--db", type=Path, help="a SQLite file")
    store.add_argument("--database-url", help="postgresql://…[?schema=name]")
    parser.add_argument("--hot-every", type=int, default=2000)
    parser.add_argument("--hot-events", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=500, help="writes per transaction")
    args = parser.parse_args()

    settings = (
        Settings(database_url=args.database_url)
        if args.database_url
        else Settings(db_path=str(args.db))
    )
    ledger = ClaimsLedger(env=settings.ledger_env())
    corpus = Corpus(random.Random(args.seed))
    started = time.perf_counter()
    try:
        load_seeds(ledger)
        first = ledger.last_position()
        run(ledger, list(sources(corpus)), None)
        expected = estimate(args)
        with tqdm(total=expected, unit="ev", disable=None, smoothing=0.1) as bar:
            batch: list[Planned] = []
            for write in interleaved(corpus, args):
                batch.append(write)
                if len(batch) == args.batch:
                    run(ledger, batch, bar)
                    batch = []
            run(ledger, batch, bar)
        written = ledger.last_position() - first
    finally:
        ledger.close()
    seconds = time.perf_counter() - started
    print(
        f"{args.claims} claims, {written} events written in {seconds:.1f} s "
        f"({written / seconds:,.0f} events/s) to {settings.describe_store()}"
    )


def estimate(args: argparse.Namespace) -> int:
    claims: int = args.claims
    hot: int = claims // args.hot_every if args.hot_every else 0
    per_claim: int = args.events_per_claim
    hot_events: int = args.hot_events
    return (claims - hot) * per_claim + hot * hot_events


def run(ledger: ClaimsLedger, planned: list[Planned], bar: tqdm[Any] | None) -> None:
    if not planned:
        return
    writes = [p.on(ledger) for p in planned]
    for write, result in zip(writes, ledger.write_batch(writes), strict=True):
        if not isinstance(result, WriteResult):
            message = f"the corpus made a write the ledger refused: {write}: {result!r}"
            raise SystemExit(message)
    if bar is not None:
        bar.update(len(writes))


if __name__ == "__main__":
    main()
