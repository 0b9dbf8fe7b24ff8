"""Where the app keeps its files: the user's data directory, never the install folder."""

from pathlib import Path

import platformdirs

APP_NAME = "carehome-share"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_database() -> Path:
    return data_dir() / "carehome.db"


def demo_database() -> Path:
    return data_dir() / "demo.db"
