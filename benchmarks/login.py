"""How long logging in takes at the product's password cost: "Log in" pressed to the database open
and the login recorded, and the key slot's unsealing alone.

    python benchmarks/login.py [--runs 15]

A login is `Vault.open_as` (the person's key slot opened with their password and this PC's
device secret, then SQLCipher keyed with the database key) followed by `auth.log_in` (the login
written to the audit chain, synced), on a set-up home whose slots use `keyslots.PASSWORD_KDF`
(argon2id, 64 MiB, 3 passes, 4 lanes); the keychain is an in-memory keyring backend. A wrong
password and an unknown username are timed too: they should cost the same, so that a name cannot
be probed. Goal: median <= 500 ms from the login window to the main window; the main window's
own part is measured by benchmarks/cold_start.py.
"""

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import keyring
from argon2.low_level import Type, hash_secret_raw
from env_keyring import MemoryKeyring
from group_db import ms, verdict

from carehome_share.services import auth
from carehome_share.services.context import Context
from carehome_share.store import keychain, keyslots
from carehome_share.store.vault import Vault, WrongPassword

USERNAME, PASSWORD = "manager", "manager password 1"
GOAL_MS = 500


def _timed(runs: int, once: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        once()
        times.append(time.perf_counter() - started)
    return ms(times)


def make_home(db: Path) -> None:
    vault, _code = Vault.create(db)
    auth.set_up_home(Context(vault), "Rose Court Care Home", USERNAME, "Mary Manager", PASSWORD)
    vault.close()


def log_in(db: Path, breakdown: list[tuple[float, float]]) -> None:
    """One login as the app does it; the open and the audited login timed apart."""
    started = time.perf_counter()
    vault = Vault.open_as(db, USERNAME, PASSWORD)
    opened = time.perf_counter()
    auth.log_in(Context(vault, workstation="benchmark"), USERNAME, PASSWORD)
    breakdown.append((opened - started, time.perf_counter() - opened))
    vault.close()


def refused(db: Path, username: str, password: str) -> None:
    try:
        Vault.open_as(db, username, password)
    except WrongPassword:
        return
    raise SystemExit(f"{username} opened the database with a wrong password")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    keyring.set_keyring(MemoryKeyring())
    with tempfile.TemporaryDirectory(prefix="carehome-bench-") as folder:
        db = Path(folder) / "carehome.db"
        make_home(db)
        key_file = keyslots.read_key_file(keyslots.key_file_path(db))
        assert key_file is not None
        slot = key_file.slots[USERNAME]
        device_secret = keychain.load(keychain.device_entry(key_file.home_id))
        cost = slot.kdf

        def argon2id() -> bytes:
            return hash_secret_raw(
                PASSWORD.encode(), slot.salt, cost.iterations, cost.memory_kib, cost.lanes, 32, Type.ID
            )

        log_in(db, [])  # warm the file cache and the imports
        breakdown: list[tuple[float, float]] = []
        login = _timed(args.runs, lambda: log_in(db, breakdown))
        unseal = _timed(args.runs, lambda: keyslots.open_slot(slot, PASSWORD, device_secret))
        stretch = _timed(args.runs, argon2id)
        wrong = _timed(args.runs, lambda: refused(db, USERNAME, "not the password 9"))
        unknown = _timed(args.runs, lambda: refused(db, "nobody", PASSWORD))
        log_in(db, [])  # the refusals' journal goes into the audit chain, as the app's next login
    open_part = ms([o for o, _ in breakdown])
    audit_part = ms([a for _, a in breakdown])
    print(
        f"login at argon2id {cost.memory_kib // 1024} MiB, {cost.iterations} passes, "
        f"{cost.lanes} lanes; median (p99) of {args.runs} runs:"
    )
    print(
        f"  Vault.open_as + auth.log_in:     {login[0]:7.1f} ms ({login[1]:.1f}) "
        f"{verdict(login[0], GOAL_MS)}"
    )
    print(f"    open_as (slot, then SQLCipher): {open_part[0]:6.1f} ms ({open_part[1]:.1f})")
    print(f"    log_in (audit entry, synced):   {audit_part[0]:6.1f} ms ({audit_part[1]:.1f})")
    print(f"  slot unseal alone (open_slot):  {unseal[0]:7.1f} ms ({unseal[1]:.1f})")
    print(f"    of which argon2id:              {stretch[0]:6.1f} ms ({stretch[1]:.1f})")
    print(f"  wrong password (journaled):     {wrong[0]:7.1f} ms ({wrong[1]:.1f})")
    print(f"  unknown username (journaled):   {unknown[0]:7.1f} ms ({unknown[1]:.1f})")


if __name__ == "__main__":
    main()
