"""Keyring backends for the benchmarks (never used by the product): for child processes, the
database key from an environment variable, as the OS keychain would hand it over; and an
in-memory keychain."""

import os

import keyring.backend


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
