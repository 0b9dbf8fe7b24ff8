"""How long logging in takes at the product's password cost: Log in clicked to the main window
shown, the database opened and the login recorded on the way, and the key slot's unsealing alone.

    python benchmarks/login.py [--runs 15] [--windows 5]

A login is `Vault.open_as` (the person's key slot opened with their password and this PC's
device secret, then SQLCipher keyed with the database key) followed by `auth.log_in` (the login
written to the audit chain, synced), on a set-up home whose slots use `keyslots.PASSWORD_KDF`
(argon2id, 64 MiB, 3 passes, 4 lanes); the keychain is an in-memory keyring backend. A wrong
password and an unknown username are timed too: they should cost the same, so that a name cannot
be probed. The kinds take turns, so all see the same machine load.

The whole of it is timed in the app itself too: `carehome-share --db FILE` started afresh, the
username and password typed into the login window once Log in is enabled, Log in clicked, and
the clock stopped when the main window has been shown (the first login of the day: the main
window's code is loaded then). How long the login window takes to appear is
benchmarks/cold_start.py. Goal: median <= 500 ms from the login window to the main window.
"""

import argparse
import os
import subprocess
import sys
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

HERE = Path(__file__).resolve().parent
USERNAME, PASSWORD = "manager", "manager password 1"
GOAL_MS = 500

# The real entry point, `carehome-share --db FILE`. Once Log in is enabled the username and
# password are typed and Log in clicked; the time from the click to the main window shown is
# printed, then the app quits.
FIRST_LOGIN = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from carehome_share import app
from carehome_share.gui.desktop import Desktop
from carehome_share.gui.login import LoginDialog

db, username, password = sys.argv[1:4]
attach, log_in, show_main_window = LoginDialog.attach, Desktop.log_in, Desktop._show_main_window
moments = []

def attached(self, *args):
    attach(self, *args)
    def click():
        self.username.setText(username)
        self.password.setText(password)
        moments.append(time.perf_counter())
        self.ok_button.click()
    if not moments:
        QTimer.singleShot(0, click)

def logged_in(self, *args):
    login = log_in(self, *args)
    moments.append(time.perf_counter())
    return login

def shown(self):
    show_main_window(self)
    QApplication.processEvents()
    moments.append(time.perf_counter())
    print(moments[1] - moments[0], moments[2] - moments[0], flush=True)
    QTimer.singleShot(0, QApplication.quit)

LoginDialog.attach, Desktop.log_in, Desktop._show_main_window = attached, logged_in, shown
app.main(["--db", db])
"""


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


def login_to_main_window(db: Path, device_secret: bytes) -> tuple[float, float]:
    """Seconds from Log in clicked to the login done, and to the main window shown, in a fresh
    app process."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        "PYTHON_KEYRING_BACKEND": "env_keyring.EnvKeyring",
        "CAREHOME_BENCH_KEY": device_secret.hex(),  # the keychain's one entry, handed over
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    run = subprocess.run(
        [sys.executable, "-c", FIRST_LOGIN, str(db), USERNAME, PASSWORD],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    logged_in, shown = run.stdout.split()[:2]
    return float(logged_in), float(shown)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--windows", type=int, default=5, help="app starts, Log in to window")
    args = parser.parse_args(argv)
    keyring.set_keyring(MemoryKeyring())
    with tempfile.TemporaryDirectory(prefix="carehome-bench-") as folder:
        db, other = Path(folder) / "carehome.db", Path(folder) / "refusals.db"
        make_home(db)
        make_home(other)  # wrong passwords go to a home of their own: they lock its manager
        key_file = keyslots.read_key_file(keyslots.key_file_path(db))
        assert key_file is not None
        slot = key_file.slots[USERNAME]
        device_secret = keychain.load(keychain.device_entry(key_file.home_id))
        assert device_secret is not None
        cost = slot.kdf

        def argon2id() -> bytes:
            return hash_secret_raw(
                PASSWORD.encode(),
                slot.salt,
                cost.iterations,
                cost.memory_kib,
                cost.lanes,
                32,
                Type.ID,
            )

        breakdown: list[tuple[float, float]] = []
        kinds: dict[str, Callable[[], object]] = {
            "login": lambda: log_in(db, breakdown),
            "unseal": lambda: keyslots.open_slot(slot, PASSWORD, device_secret),
            "argon2id": argon2id,
            "wrong": lambda: refused(other, USERNAME, "not the password 9"),
            "unknown": lambda: refused(other, "nobody", PASSWORD),
        }
        log_in(db, [])  # warm the file cache and the imports
        times: dict[str, list[float]] = {name: [] for name in kinds}
        for _ in range(args.runs):  # in turn, so that every kind sees the same machine load
            for name, once in kinds.items():
                started = time.perf_counter()
                once()
                times[name].append(time.perf_counter() - started)
        windows = [login_to_main_window(db, device_secret) for _ in range(args.windows)]
    login, unseal, stretch, wrong, unknown = (ms(times[name]) for name in kinds)
    window = ms([shown for _logged_in, shown in windows])
    window_login = ms([logged_in for logged_in, _shown in windows])
    print(
        f"login at argon2id {cost.memory_kib // 1024} MiB, {cost.iterations} passes, "
        f"{cost.lanes} lanes; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"median (p99):"
    )
    rows = [
        (
            f"Log in to main window shown ({args.windows} app starts)",
            window,
            verdict(window[0], GOAL_MS),
        ),
        ("  of which the login (Desktop.log_in)", window_login, ""),
        (f"Vault.open_as + auth.log_in ({args.runs} runs)", login, ""),
        ("  open_as (slot, then SQLCipher)", ms([o for o, _ in breakdown]), ""),
        ("  log_in (audit entry, synced)", ms([a for _, a in breakdown]), ""),
        ("slot unseal alone (open_slot)", unseal, ""),
        ("  of which argon2id", stretch, ""),
        ("wrong password (journaled)", wrong, ""),
        ("unknown username (journaled)", unknown, ""),
    ]
    width = max(len(label) for label, _figures, _goal in rows) + 1
    for label, (median, p99), goal in rows:
        print(f"  {label + ':':<{width}} {median:7.1f} ms ({p99:.1f}) {goal}".rstrip())


if __name__ == "__main__":
    main()
