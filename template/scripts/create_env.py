"""Create `.env` from `.env.example` for local development, with a fresh random API key.

Run by `make run` when there is no `.env`. Never overwrites an existing file. The file is
created owner-only (0600) by the same call that creates it, so no other user can ever read it.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

PLACEHOLDER = "replace-with-a-random-key-of-16-chars-or-more"


def main() -> int:
    target, example = Path(".env"), Path(".env.example")
    if target.exists():
        return 0
    key = secrets.token_hex(24)
    content = example.read_text(encoding="utf-8").replace(PLACEHOLDER, key)
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return 0
    with os.fdopen(descriptor, "w", encoding="utf-8") as env_file:
        env_file.write(content)
    print(f"Created .env with a new local API key: {key}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
