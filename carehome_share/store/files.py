"""Writing a file whole or not at all, readable only by its owner (documents, the key file).

A file is written to a temporary file in the target's own folder (never a shared temp folder),
created with mode 0600, flushed to disk, then renamed over the target in one step. A failure at
any point leaves no file under the target's name, and never a half-written one.
"""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_output(target: Path | str) -> Iterator[BinaryIO]:
    """A file to write to that appears under `target` only if the block finishes."""
    target = Path(target)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    if os.name == "posix":  # the rename itself reaches the disk
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def write_atomically(target: Path, data: bytes) -> None:
    with atomic_output(target) as out:
        out.write(data)
