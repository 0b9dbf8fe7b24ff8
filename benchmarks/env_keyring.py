"""A keyring backend for benchmark child processes: the database key comes from an environment
variable, as the OS keychain would hand it over. Never used by the product."""

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
