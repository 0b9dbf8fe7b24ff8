"""The OS keychain, through keyring: one entry per database, holding its raw key."""

import contextlib

import keyring
import keyring.backend
import keyring.errors
from keyring.backends import chainer, fail

SERVICE = "carehome-share"


def _insecure(backend: keyring.backend.KeyringBackend) -> bool:
    """fail/null backends store nothing; keyrings.alt ones store keys in plaintext on disk."""
    if isinstance(backend, fail.Keyring) or type(backend).__module__.startswith("keyrings.alt"):
        return True
    if type(backend).__module__ == "keyring.backends.null":
        return True
    if isinstance(backend, chainer.ChainerBackend):
        return not backend.backends or all(_insecure(b) for b in backend.backends)
    return False


def available() -> bool:
    """True when a real, encrypted keychain (Secret Service, macOS Keychain, Windows) is there."""
    try:
        return not _insecure(keyring.get_keyring())
    except Exception:
        return False


def describe() -> str:
    """Where keys go, in words for the manager."""
    backend = keyring.get_keyring()
    if not available():
        return "no secure keychain on this computer: the database is protected by a passphrase"
    return f"the operating system keychain ({getattr(backend, 'name', type(backend).__name__)})"


def entry_name(db_path: str) -> str:
    return f"database:{db_path}"


def load_key(db_path: str) -> bytes | None:
    """The database's key from the keychain, or None when there is no entry (or no keychain)."""
    if not available():
        return None
    try:
        stored = keyring.get_password(SERVICE, entry_name(db_path))
    except keyring.errors.KeyringError:
        return None
    return bytes.fromhex(stored) if stored else None


def store_key(db_path: str, key: bytes) -> None:
    keyring.set_password(SERVICE, entry_name(db_path), key.hex())


def delete_key(db_path: str) -> None:
    with contextlib.suppress(keyring.errors.PasswordDeleteError):
        keyring.delete_password(SERVICE, entry_name(db_path))
