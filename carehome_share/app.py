"""Composition root: read the arguments, then run a command (the desktop app arrives with the GUI)."""

import sys
from collections.abc import Sequence

from carehome_share import cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(sys.argv[1:] if argv is None else list(argv))
