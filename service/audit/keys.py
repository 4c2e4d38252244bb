"""The audit tree's signing key: read from its file, or made on first start
and written there (readable by its owner only). Only its public half is
ever logged or served."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from service.audit.notes import NoteError, Signer
from service.settings import SettingsError

LOG = logging.getLogger("claims_ledger.audit")


class AuditKeyError(SettingsError):
    """The key file cannot be read or is not a signing key."""


def load_or_create(path: Path | None, name: str) -> Signer:
    """The key kept at ``path``; a new one named ``name`` if there is no such
    file (and none written when ``path`` is None: an in-memory store's)."""
    if path is None:
        return Signer.generate(name)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return _create(path, name)
    except OSError as error:
        msg = f"audit key {path}: {error.strerror}"
        raise AuditKeyError(msg) from None
    try:
        return Signer.parse(text)
    except NoteError as error:
        msg = f"audit key {path}: {error}"
        raise AuditKeyError(msg) from None


def _create(path: Path, name: str) -> Signer:
    """A new key, written whole to a file of its own, then linked into place
    (which fails if an instance starting beside us linked its own first: we
    then use that one), so nobody ever reads a key half-written."""
    signer = Signer.generate(name)
    try:
        descriptor, written = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".new"
        )
    except OSError as error:
        msg = f"audit key {path}: {error.strerror}"
        raise AuditKeyError(msg) from None
    try:
        with os.fdopen(descriptor, "w") as out:  # mkstemp makes it 0600
            out.write(f"{signer}\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(written, path)
        except FileExistsError:
            return load_or_create(path, name)
        except OSError as error:
            msg = f"audit key {path}: {error.strerror}"
            raise AuditKeyError(msg) from None
    finally:
        os.unlink(written)
    LOG.info("made the audit signing key %s; its public key: %s", path, signer.verifier)
    return signer
