"""Fixtures: a fresh encrypted database per test, an in-memory keychain, a clock we control."""

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import keyring
import keyring.backend
import pytest

from carehome_share.services.context import Context
from carehome_share.store import keyslots
from carehome_share.store.vault import Vault
from tests.factories import Home

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The tests must not depend on the shell they run from: a password, user, recovery code or old
# passphrase exported there would reach every command, in-process or in a child process. Child
# processes get no keychain, whatever backend the shell chose or the desktop offers (the tests
# in this process use the in-memory one below). CI's switch for test_secret_service.py stays.
for _name in [n for n in os.environ if n.startswith("CAREHOME_SHARE_")]:
    if _name != "CAREHOME_SHARE_REQUIRE_SECRET_SERVICE":
        del os.environ[_name]
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keychain that lives in memory for one test."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise keyring.errors.PasswordDeleteError(username)
        del self.entries[(service, username)]


class Clock:
    """The time the services see. Starts on a Saturday morning in November 2026."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, iso: str) -> datetime:
        self.now = datetime.fromisoformat(iso).replace(tzinfo=UTC)
        return self.now


@pytest.fixture(autouse=True)
def quick_password_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its smallest for tests (slots record their own cost, so this changes no
    behaviour); tests/test_keyslots.py checks the product's cost."""
    monkeypatch.setattr(keyslots, "PASSWORD_KDF", keyslots.KdfParams(64, 1, 1))


@pytest.fixture(autouse=True, scope="session")
def session_keyring() -> Iterator[None]:
    """A keychain in memory for fixtures that outlive one test (module-scoped demo databases):
    never the real keychain, and never a backend keyring picked on its own from the classes
    imported so far (a benchmark's read-only one, say)."""
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "carehome.db"


@pytest.fixture
def vault(db_path: Path) -> Iterator[Vault]:
    """A demo database: only a demo (or training) database takes the NHS numbers reserved for
    testing (999...), which are the only ones tests use."""
    opened, _code = Vault.create(db_path, purpose="demo")
    yield opened
    opened.close()


@pytest.fixture
def ctx(vault: Vault, clock: Clock) -> Context:
    return Context(vault, clock=clock, workstation="nurses-station-1")


@pytest.fixture
def home(ctx: Context, clock: Clock) -> Home:
    """A home with a manager logged in, one GP practice and an agreement in force."""
    return Home.set_up(ctx, clock)
