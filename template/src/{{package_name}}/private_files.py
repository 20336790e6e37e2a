"""Files that hold callers' data (the SQLite ledger, index caches) are created owner-only.

The mode is set by the `open` that creates the file, never by a later chmod, so there is no
moment when another local user could open it. SQLite's -wal and -shm files copy the database
file's mode, so pre-creating the database file covers them too.
"""

from __future__ import annotations

import os
from pathlib import Path

OWNER_ONLY = 0o600


def create_owner_only(path: Path) -> bool:
    """Create an empty `path` with mode 0600 unless it exists; True when it was created."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    except FileExistsError:
        return False
    os.close(descriptor)
    return True
