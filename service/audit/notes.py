"""Signed notes and checkpoints in the C2SP formats (``signed-note``,
``tlog-checkpoint``), with Ed25519 keys, so that an auditor checks them with
any tool that reads those formats.

A note is text of whole lines; a blank line; then one line per signature,
``— <key name> <base64(key id || signature)>``. An Ed25519 key's id is the
first four bytes of SHA-256(name || "\\n" || 0x01 || public key). Keys are
written as the Go tools write them: ``<name>+<key id hex>+<base64(0x01 ||
public key)>`` to verify, ``PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 ||
seed)>`` to sign. A checkpoint is the note ``<origin>\\n<tree size>\\n<base64
root hash>\\n``."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"
DASH = "\u2014"
PRIVATE = "PRIVATE+KEY+"


class NoteError(ValueError):
    """A note, a key or a checkpoint that is malformed or does not verify."""


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or "+" in name or any(c.isspace() for c in name):
        msg = "a key name is non-empty, with no spaces and no '+'"
        raise NoteError(msg)
    return name


def _key_text(text: str, kind: str) -> tuple[str, bytes, bytes]:
    """``name+id+base64(0x01 || key)``: the name, the id it claims, the key."""
    try:
        name, hex_id, encoded = text.split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        given = bytes.fromhex(hex_id)
    except (ValueError, binascii.Error):
        raise NoteError(f"not a {kind} key") from None
    if len(raw) != 33 or raw[:1] != ED25519:
        raise NoteError(f"not an Ed25519 {kind} key")
    return _check_name(name), given, raw[1:]


@dataclass(frozen=True)
class Verifier:
    name: str
    public: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.public.public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.raw)

    def __str__(self) -> str:
        encoded = base64.b64encode(ED25519 + self.raw).decode()
        return f"{self.name}+{self.id.hex()}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """A verifier key as written (``name+id+key``); its id must match."""
        name, given, key = _key_text(text.strip(), "verifier")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(key))
        if verifier.id != given:
            raise NoteError("the verifier key's id does not match its key")
        return verifier


@dataclass(frozen=True)
class Signer:
    name: str
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(_check_name(name), Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, text: str) -> Signer:
        """A signing key as written (``PRIVATE+KEY+name+id+seed``)."""
        if not text.startswith(PRIVATE):
            raise NoteError("not a signing key")
        name, given, key = _key_text(text.strip().removeprefix(PRIVATE), "signing")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(key))
        if signer.verifier.id != given:
            raise NoteError("the signing key's id does not match its key")
        return signer

    def __str__(self) -> str:
        seed = self.private.private_bytes_raw()
        encoded = base64.b64encode(ED25519 + seed).decode()
        return f"{PRIVATE}{self.name}+{self.verifier.id.hex()}+{encoded}"

    def __repr__(self) -> str:  # never the key itself, in a log or a traceback
        return f"Signer({self.name!r}, {self.verifier.id.hex()})"

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.private.public_key())

    def sign(self, text: str) -> str:
        """``text`` (whole lines) as a note signed by this key."""
        _check_text(text)
        signature = self.private.sign(text.encode())
        stamp = base64.b64encode(self.verifier.id + signature).decode()
        return f"{text}\n{DASH} {self.name} {stamp}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n") or "\n\n" in text or DASH in text.split("\n")[0]:
        msg = "a note's text is whole, non-empty lines"
        raise NoteError(msg)


def open_note(note: str, verifier: Verifier) -> str:
    """The text of a note that ``verifier`` signed (``NoteError`` if it
    did not, or the note is malformed)."""
    text, blank, signatures = note.rpartition("\n\n")
    if not blank or not signatures.endswith("\n"):
        raise NoteError("not a signed note")
    text += "\n"
    _check_text(text)
    for line in signatures[:-1].split("\n"):
        prefix, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        if prefix != DASH or not name or not encoded:
            raise NoteError("a malformed signature line")
        if name != verifier.name:
            continue
        try:
            stamp = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise NoteError("a malformed signature") from None
        if stamp[:4] != verifier.id:
            continue
        try:
            verifier.public.verify(stamp[4:], text.encode())
        except InvalidSignature:
            raise NoteError("the signature does not verify") from None
        return text
    raise NoteError(f"no signature by {verifier.name}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """A checkpoint's text (extension lines after the root are allowed)."""
        lines = text.split("\n")
        try:
            origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
        except (IndexError, ValueError, binascii.Error):
            raise NoteError("not a checkpoint") from None
        if not origin or size < 0 or len(root) != 32 or str(size) != lines[1]:
            raise NoteError("not a checkpoint")
        return cls(origin, size, root)


def open_checkpoint(note: str, verifier: Verifier, origin: str) -> Checkpoint:
    """The checkpoint a note holds, signed by ``verifier`` for ``origin``."""
    checkpoint = Checkpoint.parse(open_note(note, verifier))
    if checkpoint.origin != origin:
        msg = f"a checkpoint of {checkpoint.origin!r}, not {origin!r}"
        raise NoteError(msg)
    return checkpoint
