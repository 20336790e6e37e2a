"""Create `.env` from `.env.example` for local development, with a fresh random API key.

Run by `make run` when there is no `.env`. Never overwrites an existing file.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

PLACEHOLDER = "replace-with-a-random-key-of-16-chars-or-more"


def main() -> int:
    target, example = Path(".env"), Path(".env.example")
    if target.exists():
        return 0
    key = secrets.token_hex(24)
    target.write_text(example.read_text(encoding="utf-8").replace(PLACEHOLDER, key))
    target.chmod(0o600)
    print(f"Created .env with a new local API key: {key}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
