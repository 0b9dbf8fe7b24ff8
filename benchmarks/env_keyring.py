"""Keyring backends for the benchmarks (never used by the product): for child processes, the
keychain's entry (the home's device secret) from an environment variable, as the OS keychain
would hand it over; an in-memory keychain; and `no_keychain`, for throwaway databases."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import keyring
import keyring.backend
from keyring.backends import fail


class EnvKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return os.environ.get("CAREHOME_BENCH_KEY")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("read-only benchmark keyring")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("read-only benchmark keyring")


class MemoryKeyring(EnvKeyring):
    """The OS keychain, in memory, for a benchmark's own process."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password


@contextmanager
def no_keychain() -> Iterator[None]:
    """Make databases as on a PC without a secure keychain: nothing is written to the real one
    (a throwaway file would leave its device secret behind), and the demo accounts' password
    alone opens the file, in this process or any other (`--db`, the report children)."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)
