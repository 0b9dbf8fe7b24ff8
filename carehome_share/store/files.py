"""Writing a file whole or not at all, readable only by its owner (documents, the key file).

A file is written to a temporary file in the target's own folder (never a shared temp folder),
created with mode 0600, flushed to disk, then renamed over the target in one step. A failure at
any point leaves no file under the target's name, and never a half-written one.

A writer killed mid-way (kill -9, a power cut) leaves its hidden `.NAME.xxxxxxxx.part` behind: a
confidential document in part. The next write to that folder removes parts untouched for an
hour. Age, not the writer's process id, says a part is stale: the folder may be shared with
other computers, whose process ids mean nothing here (and ids are reused), and no document
takes an hour to write (a 10,000-row report takes seconds).
"""

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

STALE_PART_SECONDS = 3600
# A part as `part_beside` names it (mkstemp's eight random characters), with the working files
# SQLite keeps beside a backup being written.
_PART = re.compile(r"\..+\.[a-z0-9_]{8}\.part(-wal|-shm|-journal)?")


def part_beside(target: Path) -> tuple[int, str]:
    """A new temporary file (0600) in `target`'s folder, as (descriptor, path); parts there
    that a writer left over an hour ago are removed first."""
    cutoff = time.time() - STALE_PART_SECONDS
    for part in target.parent.glob(".*.part*"):
        with contextlib.suppress(OSError):  # gone already, or not ours to remove
            if _PART.fullmatch(part.name) and part.is_file() and part.stat().st_mtime < cutoff:
                part.unlink()
    return tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")


@contextmanager
def atomic_output(target: Path | str) -> Iterator[BinaryIO]:
    """A file to write to that appears under `target` only if the block finishes."""
    target = Path(target)
    fd, temp = part_beside(target)
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
