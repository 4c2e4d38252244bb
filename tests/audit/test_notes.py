"""Signed notes and checkpoints agree with the published examples of the
formats (C2SP's signed-note example; the Go note package's test keys and
notes, restated here as values): our verifier opens them, and our signer,
given the published private key, writes the published note byte for byte
(Ed25519 signatures are deterministic)."""

from __future__ import annotations

import base64

import pytest

from service.audit.notes import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    open_checkpoint,
    open_note,
)

DASH = "\u2014"
C2SP_KEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n\n"
    f"{DASH} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTg"
    "K7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
PETER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_PRIVATE = (
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
)
ENOCH_KEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIGNATURE = (
    f"{DASH} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FF"
    "YC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIGNATURE = (
    f"{DASH} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1a"
    "GrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)


def test_published_notes_open_with_their_keys() -> None:
    assert open_note(C2SP_NOTE, Verifier.parse(C2SP_KEY)) == (
        "This is an example message.\n"
    )
    both = f"{TEXT}\n{PETER_SIGNATURE}{ENOCH_SIGNATURE}"
    assert open_note(both, Verifier.parse(PETER_KEY)) == TEXT
    assert open_note(both, Verifier.parse(ENOCH_KEY)) == TEXT


def test_our_signer_writes_the_published_note_byte_for_byte() -> None:
    signer = Signer.parse(PETER_PRIVATE)
    assert str(signer.verifier) == PETER_KEY
    assert str(signer) == PETER_PRIVATE
    assert signer.sign(TEXT) == f"{TEXT}\n{PETER_SIGNATURE}"
    assert "AYEKFALV" not in repr(signer)


def test_an_altered_note_or_another_key_does_not_open() -> None:
    key = Verifier.parse(C2SP_KEY)
    with pytest.raises(NoteError, match="does not verify"):
        open_note(C2SP_NOTE.replace("example message", "exemple message"), key)
    with pytest.raises(NoteError, match="no signature by"):
        open_note(C2SP_NOTE, Verifier.parse(PETER_KEY))
    wrong_id = PETER_KEY.replace("c74f20a3", "deadbeef")
    with pytest.raises(NoteError, match="id does not match"):
        Verifier.parse(wrong_id)
    with pytest.raises(NoteError, match="not a signed note"):
        open_note("This is an example message.\n", key)


def test_a_checkpoint_is_signed_and_opened_for_its_origin() -> None:
    signer = Signer.generate("claims.example/ledger")
    root = bytes(range(32))
    note = signer.sign(Checkpoint("claims.example/ledger", 42, root).text())
    assert note.startswith(
        f"claims.example/ledger\n42\n{base64.b64encode(root).decode()}\n\n{DASH} "
    )
    opened = open_checkpoint(note, signer.verifier, "claims.example/ledger")
    assert (opened.size, opened.root) == (42, root)
    with pytest.raises(NoteError, match="not 'elsewhere'"):
        open_checkpoint(note, signer.verifier, "elsewhere")
    with pytest.raises(NoteError, match="not a checkpoint"):
        Checkpoint.parse("claims.example/ledger\n042\nAAAA\n")
