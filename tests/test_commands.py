"""A command's fingerprint is taken from all of it: two requests that differ in
any field, however deep, never share one, so a retried key can only replay the
very request it was first used for."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from service.application import commands
from service.application.commands import Command
from service.domain.claim import ClaimChanges, StanceChanges
from service.domain.source import SourceChanges, SourceProfile
from service.domain.values import (
    Document,
    LinkKind,
    Period,
    SourceKind,
    StanceKind,
)

A, B = UUID(int=1), UUID(int=2)
DOCUMENT = Document(title="T", url="https://example.org", publisher="P")

# Two different values for every field type a command holds.
SAMPLES: dict[str, tuple[Any, Any]] = {
    "UUID": (A, B),
    "UUID | None": (A, None),
    "int": (1, 2),
    "str": ("one", "two"),
    "str | None": ("one", None),
    "bool": (False, True),
    "tuple[str, ...]": (("Iran",), ("Iran", "Hamas")),
    "tuple[UUID, ...]": ((A,), (A, B)),
    "Period": (Period.day(date(2023, 10, 2)), Period.month(2023, 10)),
    "Document | None": (DOCUMENT, dataclasses.replace(DOCUMENT, url=None)),
    "StanceKind": (StanceKind.AFFIRMS, StanceKind.DENIES),
    "LinkKind": (LinkKind.REFINES, LinkKind.SAME_AS),
    "SourceProfile": (
        SourceProfile(name="WSJ", kind=SourceKind.OUTLET),
        SourceProfile(name="WSJ", kind=SourceKind.OUTLET, affiliation_id=A),
    ),
    "SourceChanges": (SourceChanges(descriptor=None), SourceChanges(name="WSJ")),
    "StanceChanges": (
        StanceChanges(chain=(A,)),
        StanceChanges(chain=(A,), independent=False),
    ),
    "ClaimChanges": (ClaimChanges(about=()), ClaimChanges(occurred=Period.unknown())),
}

COMMANDS = [
    c
    for c in vars(commands).values()
    if isinstance(c, type)
    and issubclass(c, Command)
    and c not in (Command, commands.ClaimCommand)
]


def build(cls: type[Command], pick: dict[str, int]) -> Command:
    values = {
        f.name: SAMPLES[str(f.type)][pick.get(f.name, 0)]
        for f in dataclasses.fields(cls)
    }
    return cls(**values)


def test_every_write_use_case_is_a_command() -> None:
    assert len(COMMANDS) == 11


@pytest.mark.parametrize("cls", COMMANDS, ids=lambda c: c.__name__)
def test_equal_commands_share_a_fingerprint(cls: type[Command]) -> None:
    assert build(cls, {}).fingerprint() == build(cls, {}).fingerprint()


@pytest.mark.parametrize("cls", COMMANDS, ids=lambda c: c.__name__)
def test_any_field_changes_the_fingerprint(cls: type[Command]) -> None:
    base = build(cls, {}).fingerprint()
    for field in dataclasses.fields(cls):
        changed = build(cls, {field.name: 1})
        assert changed.fingerprint() != base, field.name


def test_a_change_left_as_it_is_differs_from_one_cleared() -> None:
    keep = commands.AmendSource(A, 1, SourceChanges(), reason="r")
    clear = commands.AmendSource(A, 1, SourceChanges(descriptor=None), reason="r")
    assert keep.fingerprint() != clear.fingerprint()


def test_the_same_fields_in_another_command_differ() -> None:
    retract = commands.RetractStance(A, 1, B, reason="r", reported=Period.unknown())
    link = commands.WithdrawLink(A, 1, B, reason="r")
    assert retract.fingerprint() != link.fingerprint()
