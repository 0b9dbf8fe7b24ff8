"""The real OS keychain path: GNOME Keyring over the Secret Service D-Bus API.

The keychain holds each home's device secret (one of the two secrets that open a key slot), never
the database key. CI runs the suite inside `dbus-run-session` with an unlocked gnome-keyring (see
.ci/run), and there this test must run; on a machine without a session bus it is skipped.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest

from carehome_share.services import auth
from carehome_share.services.context import Context
from carehome_share.store import keychain, recovery
from carehome_share.store.vault import NotEnrolled, Vault
from tests.factories import MANAGER_PASSWORD


def _secret_service() -> keyring.backend.KeyringBackend | None:
    try:
        from keyring.backends import SecretService

        backend = SecretService.Keyring()
        backend.priority  # noqa: B018 - raises when no Secret Service answers
        return backend
    except Exception:
        return None


BACKEND = _secret_service() if os.environ.get("DBUS_SESSION_BUS_ADDRESS") else None
if BACKEND is None and os.environ.get("CAREHOME_SHARE_REQUIRE_SECRET_SERVICE"):
    raise RuntimeError("CI asked for the Secret Service test, but no Secret Service is running")


@pytest.fixture
def secret_service() -> Iterator[keyring.backend.KeyringBackend]:
    """The real Secret Service as the keychain for one test; the backend before it comes back."""
    assert BACKEND is not None
    previous = keyring.get_keyring()
    keyring.set_keyring(BACKEND)
    try:
        yield BACKEND
    finally:
        keyring.set_keyring(previous)


def _our_entries(backend: keyring.backend.KeyringBackend) -> dict[str, str]:
    """Every entry the Secret Service holds under carehome-share's name: username -> secret."""
    collection = backend.get_preferred_collection()  # type: ignore[attr-defined]
    return {
        item.get_attributes()["username"]: item.get_secret().decode()
        for item in collection.search_items({"service": keychain.SERVICE})
    }


@pytest.mark.skipif(BACKEND is None, reason="no Secret Service (gnome-keyring) on this machine")
def test_the_secret_service_holds_the_device_secret_only(
    db_path: Path, secret_service: keyring.backend.KeyringBackend
) -> None:
    assert keychain.available()
    assert keychain.describe() == "the system keychain (GNOME Keyring / Secret Service)"
    vault, code = Vault.create(db_path)
    home_id, _public, _private, device_secret = vault.identity()
    entry = keychain.device_entry(home_id)
    try:
        auth.set_up_home(
            Context(vault), "Rose Court Care Home", "manager", "Mary Manager", MANAGER_PASSWORD
        )
        vault.close()
        key = recovery.decode(code)
        stored = _our_entries(secret_service)
        assert stored[entry] == device_secret.hex()
        assert not any(key.hex() in secret.lower() for secret in stored.values())
        assert keychain.legacy_entry(str(db_path)) not in stored  # no 0.1 entry: no whole key

        reopened = Vault.open_as(db_path, "manager", MANAGER_PASSWORD)
        try:
            auth.log_in(Context(reopened), "manager", MANAGER_PASSWORD)
        finally:
            reopened.close()

        # A fresh keychain (a rebuilt PC, another user account): the password alone is not enough.
        keychain.delete(entry)
        assert keyring.get_password(keychain.SERVICE, entry) is None
        with pytest.raises(NotEnrolled):
            Vault.open_as(db_path, "manager", MANAGER_PASSWORD)

        # The recovery code opens the file and enrols this PC again: the same device secret.
        Vault.open_with_recovery_code(db_path, code).close()
        assert keyring.get_password(keychain.SERVICE, entry) == device_secret.hex()
        Vault.open_as(db_path, "manager", MANAGER_PASSWORD).close()
    finally:
        keychain.delete(entry)
        assert entry not in _our_entries(secret_service)
