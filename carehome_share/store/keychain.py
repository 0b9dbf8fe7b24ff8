"""The OS keychain, through keyring: one entry per home, holding its device secret.

The device secret is one of the two secrets that open a member of staff's key slot (the other is
their password), so nothing the keychain holds opens the database on its own. Databases from
version 0.1 kept their whole key here (`database:<path>`); that entry is read only while such a
file is being moved to key slots, and deleted when the move ends."""

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
    """Where the device secret goes, in words for the manager."""
    if not available():
        return (
            "no secure keychain on this computer: each member of staff's password alone "
            "protects their key to the database"
        )
    backend = keyring.get_keyring()
    if isinstance(backend, chainer.ChainerBackend):  # the first that works is the one used
        backend = next(b for b in backend.backends if not _insecure(b))
    module = type(backend).__module__.rsplit(".", 1)[-1]
    return _KEYCHAIN_NAMES.get(module, "the system keychain")


# Where keyring's backends keep secrets, as the people using those systems know them.
_KEYCHAIN_NAMES = {
    "SecretService": "the system keychain (GNOME Keyring / Secret Service)",
    "libsecret": "the system keychain (GNOME Keyring / Secret Service)",
    "kwallet": "the system keychain (KDE Wallet)",
    "macOS": "the macOS Keychain",
    "Windows": "Windows Credential Manager",
}


def device_entry(home_id: str) -> str:
    return f"device:{home_id}"


def legacy_entry(db_path: str) -> str:
    """Version 0.1's entry: the whole database key."""
    return f"database:{db_path}"


def load(entry: str) -> bytes | None:
    """A secret from the keychain, or None when there is no entry (or no keychain)."""
    if not available():
        return None
    try:
        stored = keyring.get_password(SERVICE, entry)
    except keyring.errors.KeyringError:
        return None
    return bytes.fromhex(stored) if stored else None


def store(entry: str, secret: bytes) -> None:
    keyring.set_password(SERVICE, entry, secret.hex())


def delete(entry: str) -> None:
    with contextlib.suppress(keyring.errors.PasswordDeleteError, keyring.errors.NoKeyringError):
        keyring.delete_password(SERVICE, entry)
