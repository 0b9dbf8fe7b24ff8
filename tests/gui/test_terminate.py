"""A shutdown (SIGTERM) ends the desktop app the normal way: exit code 0, and a demo database's
private temporary folder is removed rather than left behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_sigterm_closes_the_demo_and_removes_its_files(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(tmp_path)}
    app = subprocess.Popen([sys.executable, "-m", "carehome_share", "--demo"], env=env)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("carehome-share-demo-*/demo.db")):  # the login window is up
            assert time.monotonic() < deadline, "the demo database never appeared"
            time.sleep(0.2)
        time.sleep(1)  # past start-up, into the event loop
        app.send_signal(signal.SIGTERM)
        assert app.wait(timeout=30) == 0
    finally:
        app.kill()
    assert list(tmp_path.glob("carehome-share-demo-*")) == []


def test_sigterm_ends_the_first_run_wizard(tmp_path: Path) -> None:
    """The wizard runs its own event loop; a shutdown must still end the app, creating nothing."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_DATA_HOME": str(tmp_path)}
    db = tmp_path / "new-home.db"
    app = subprocess.Popen([sys.executable, "-m", "carehome_share", "--db", str(db)], env=env)
    try:
        time.sleep(4)  # the wizard is on screen
        app.send_signal(signal.SIGTERM)
        assert app.wait(timeout=30) in (0, 1)
    finally:
        app.kill()
    assert not db.exists()
