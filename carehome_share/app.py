"""Composition root: `carehome-share` with no command opens the desktop app; `--self-test`
checks an installed copy; with a command it runs the command line. The desktop path does not import the command line (and with it every
service and reportlab), so the login window appears sooner."""

import sys
from collections.abc import Sequence
from pathlib import Path


def desktop_options(args: list[str]) -> tuple[Path | None, bool] | None:
    """(database, demo) when the arguments only choose what the desktop app opens, else None."""
    db, demo, rest = None, False, list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--demo":
            demo = True
        elif arg == "--db" and rest:
            db = Path(rest.pop(0))
        elif arg.startswith("--db="):
            db = Path(arg.removeprefix("--db="))
        else:
            return None
    return db, demo


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--self-test"]:
        from carehome_share import selftest

        return selftest.run()
    desktop = desktop_options(args)
    if desktop is not None:
        from carehome_share.gui.app import run_gui  # Qt is loaded only for the desktop app

        return run_gui(*desktop)
    from carehome_share import cli

    return cli.run(args)
