"""Cold start to the login window, against an empty PySide6 window, measured in one run.

    python benchmarks/cold_start.py [--runs 15]

Each start is a fresh Python process, timed from just before it is spawned to the moment its
window has been shown. The app takes the path `carehome-share` takes: show the login window,
then open the real encrypted database, whose key comes from the keychain (here a keyring backend
reading it from the environment, as the OS keychain would hand it over), and enable Log in; both
moments are reported. The two kinds of start alternate, so both see the same machine load.
Goal: login window shown <= 1.3 x the empty window.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keyring

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from env_keyring import MemoryKeyring  # noqa: E402

EMPTY_WINDOW = """
import sys, time
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication(sys.argv)
window = QWidget()
window.show()
app.processEvents()
print(time.time())
"""

# The real entry point, `carehome-share --db FILE`, with two moments noted on the way: the login
# window painted, and Log in enabled (the database itself opens at login, with the person's key
# slot: benchmarks/login.py times that, up to the main window). Then the app quits.
LOGIN_WINDOW = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from carehome_share.gui.login import LoginDialog
from carehome_share import app

shown, attach = LoginDialog.show, LoginDialog.attach

def show(self):
    shown(self)
    QApplication.processEvents()
    print(time.time(), flush=True)

def attached(self, *args):
    attach(self, *args)
    print(time.time(), flush=True)
    QTimer.singleShot(200, QApplication.quit)  # after exec() starts; not part of the timing

LoginDialog.show, LoginDialog.attach = show, attached
app.main(["--db", sys.argv[1]])
"""


def make_database(folder: Path) -> tuple[Path, str]:
    from carehome_share.services import auth
    from carehome_share.services.context import Context
    from carehome_share.store.vault import Vault

    keychain = MemoryKeyring()
    keyring.set_keyring(keychain)
    db = folder / "carehome.db"
    vault, _code = Vault.create(db)
    auth.set_up_home(
        Context(vault), "Rose Court Care Home", "manager", "Mary Manager", "manager password 1"
    )
    vault.close()
    (key,) = keychain.entries.values()  # handed to the child processes
    return db, key


def start_time(script: str, args: list[str], env: dict[str, str]) -> list[float]:
    """Seconds from spawning the process to each moment it prints (window shown, ready)."""
    began = time.time()
    run = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, check=True
    )
    return [float(t) - began for t in run.stdout.split()[:2]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        db, key = make_database(Path(folder))
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
            "PYTHON_KEYRING_BACKEND": "env_keyring.EnvKeyring",
            "CAREHOME_BENCH_KEY": key,
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        }
        start_time(LOGIN_WINDOW, [str(db)], env)  # warm the file cache for both kinds alike
        start_time(EMPTY_WINDOW, [], env)
        empty, shown, ready = [], [], []
        for _ in range(args.runs):
            empty.extend(start_time(EMPTY_WINDOW, [], env))
            window_shown, database_open = start_time(LOGIN_WINDOW, [str(db)], env)
            shown.append(window_shown)
            ready.append(database_open)
    e, s, r = statistics.median(empty), statistics.median(shown), statistics.median(ready)
    print(f"platform {env['QT_QPA_PLATFORM']}, {args.runs} runs each, medians:")
    print(f"  empty PySide6 window shown:             {e * 1000:6.0f} ms")
    print(
        f"  carehome-share login window shown:      {s * 1000:6.0f} ms  ratio {s / e:.2f} (goal <= 1.30)"
    )
    print(f"  ... Log in enabled:                     {r * 1000:6.0f} ms  ratio {r / e:.2f}")


if __name__ == "__main__":
    main()
