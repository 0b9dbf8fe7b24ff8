"""The real OS keychain path: GNOME Keyring over the Secret Service D-Bus API.

CI runs the suite inside `dbus-run-session` with an unlocked gnome-keyring (see .ci/run), and
there this test must run; on a machine without a session bus it is skipped.
"""

import os
from pathlib import Path

import keyring
import pytest

from carehome_share.store import keychain
from carehome_share.store.vault import Vault


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


@pytest.mark.skipif(BACKEND is None, reason="no Secret Service (gnome-keyring) on this machine")
def test_key_is_kept_in_the_secret_service(db_path: Path) -> None:
    keyring.set_keyring(BACKEND)
    assert keychain.available()
    assert "SecretService" in keychain.describe() or "Secret" in keychain.describe()
    vault, code = Vault.create(db_path)
    vault.close()
    try:
        stored = keyring.get_password(keychain.SERVICE, keychain.entry_name(str(db_path)))
        assert stored is not None and len(bytes.fromhex(stored)) == 32
        reopened = Vault.open(db_path)
        assert reopened.key_mode == "keychain"
        reopened.close()
        # A lost entry: the recovery code opens the file and puts the key back.
        keychain.delete_key(str(db_path))
        Vault.open(db_path, recovery_code=code).close()
        assert keyring.get_password(keychain.SERVICE, keychain.entry_name(str(db_path))) == stored
    finally:
        keychain.delete_key(str(db_path))
