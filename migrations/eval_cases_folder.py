"""Migration to 0.2.0: the golden set moves from evals/cases.yaml to evals/cases/golden.yaml.

Since 0.2.0 the eval gate loads every `evals/cases/*.yaml`, so teams can keep cases per domain
or incident. The golden set is team-owned (never overwritten by `copier update`), so this
migration moves the team's own file, edits included, before the update is applied. It uses
`git mv` when the file is tracked, so the history follows the file.

Idempotent and offline: run twice, or on a repo without the old file, it changes nothing.
Copier runs it from the project root (`_migrations` in copier.yml, stage "before").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OLD = Path("evals/cases.yaml")
NEW = Path("evals/cases/golden.yaml")


def _tracked(path: Path) -> bool:
    result = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(path)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def main() -> int:
    if not OLD.exists():
        print(f"migration 0.2.0: no {OLD}, nothing to move")
        return 0
    if NEW.exists():
        print(
            f"migration 0.2.0: both {OLD} and {NEW} exist. Merge your cases into {NEW} (or "
            f"another file in {NEW.parent}/), delete {OLD}, commit, and run the update again.",
            file=sys.stderr,
        )
        return 1
    NEW.parent.mkdir(parents=True, exist_ok=True)
    if _tracked(OLD):
        subprocess.run(["git", "mv", str(OLD), str(NEW)], check=True)
    else:
        OLD.rename(NEW)
    print(f"migration 0.2.0: moved {OLD} to {NEW} (your cases are unchanged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
