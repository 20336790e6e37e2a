"""Fail when a template update left unresolved conflicts: inline markers or `*.rej` files.

`copier update` exits 0 even when a hunk conflicts; it leaves `<<<<<<<` markers in the file or
the rejected hunk in `<file>.rej`. `make template-update` runs this right after the update so
that neither reaches a commit unnoticed (the pre-commit hooks check the same on commit).

It also removes the folders an update emptied (e.g. a use case removed with `copier update
--data use_cases=...`) that still hold Python's byte-code caches: git ignores those, so copier
leaves them behind, and a stale `extraction/` folder would look like code that is still there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

MARKERS = ("<<<<<<< ", ">>>>>>> ")
# Where the code lives; caches elsewhere (.venv, var/) are not the update's business.
CODE_ROOTS = ("src", "tests", "evals", "scripts", "deploy", "ops")
CACHES = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


def tracked_and_new_files() -> list[Path]:
    """Files git knows about plus untracked ones (not ignored): what an update can touch, each
    once (git lists a conflicted file once per merge stage)."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607
        capture_output=True,
        check=True,
    ).stdout
    return [Path(name) for name in dict.fromkeys(listing.decode().split("\0")) if name]


def leftovers(files: list[Path]) -> list[str]:
    """One line per file with rejected hunks or conflict markers (an opening and a closing one)."""
    problems = []
    for path in files:
        if not path.is_file():
            continue
        if path.suffix == ".rej":
            problems.append(f"{path}: rejected hunks; apply them by hand, then delete the file")
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue
        opening = [n for n, line in enumerate(lines, start=1) if line.startswith(MARKERS[0])]
        if opening and any(line.startswith(MARKERS[1]) for line in lines):
            problems.append(f"{path}:{opening[0]}: conflict markers")
    return problems


def only_caches(folder: Path) -> bool:
    """The folder holds nothing but (folders of) byte-code and tool caches."""
    return all(
        entry.name in CACHES or (entry.is_dir() and only_caches(entry))
        for entry in folder.iterdir()
    )


def prune_emptied_folders(root: Path = Path()) -> list[Path]:
    """Remove the code folders that hold only caches, deepest first; returns what went."""
    removed: list[Path] = []
    for base in (root / name for name in CODE_ROOTS):
        if not base.is_dir():
            continue
        for folder in sorted(base.rglob("*"), key=lambda path: len(path.parts), reverse=True):
            if folder.name not in CACHES and folder.is_dir() and only_caches(folder):
                shutil.rmtree(folder)
                removed.append(folder)
    return removed


def main() -> int:
    for folder in prune_emptied_folders():
        print(f"removed {folder}/: the update deleted its files, only caches were left")
    problems = leftovers(tracked_and_new_files())
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            f"{len(problems)} unresolved update conflict(s): resolve them, then commit. "
            "See docs/onboarding.md, section 6 (Stay current with the template).",
            file=sys.stderr,
        )
        return 1
    print("no conflict markers and no *.rej files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
