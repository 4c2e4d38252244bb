"""The audit tree's signing key: read from its file, or made on first start
and written there (readable by its owner only). Only its public half is
ever logged or served."""

from __future__ import annotations

import logging
import os
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
    signer = Signer.generate(name)
    try:
        # exclusive: an instance starting beside us may have just made one
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Signer.parse(path.read_text())
    except OSError as error:
        msg = f"audit key {path}: {error.strerror}"
        raise AuditKeyError(msg) from None
    with os.fdopen(descriptor, "w") as out:
        out.write(f"{signer}\n")
        out.flush()
        os.fsync(out.fileno())
    LOG.info("made the audit signing key %s; its public key: %s", path, signer.verifier)
    return signer
