"""`make template-update` fails on what a conflicting `copier update` leaves behind, and clears
the folders an update emptied of code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.check_update_leftovers import leftovers, prune_emptied_folders

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_update_leftovers.py"


def test_conflict_markers_are_reported_with_their_line(tmp_path: Path) -> None:
    conflicted = tmp_path / "routes.py"
    conflicted.write_text(
        "a = 1\n<<<<<<< before updating\nb = 2\n=======\nb = 3\n>>>>>>> after updating\n"
    )
    assert leftovers([conflicted]) == [f"{conflicted}:2: conflict markers"]


def test_rej_files_are_reported(tmp_path: Path) -> None:
    rejected = tmp_path / "Makefile.rej"
    rejected.write_text("@@ -1 +1 @@\n-a\n+b\n")
    assert leftovers([rejected]) == [
        f"{rejected}: rejected hunks; apply them by hand, then delete the file"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Title\n=======\n",  # a Markdown heading underline is not a conflict
        "<<<<<<< only an opening line, as in a quoted example\n",
        "",
    ],
)
def test_ordinary_files_pass(tmp_path: Path, text: str) -> None:
    path = tmp_path / "README.md"
    path.write_text(text)
    assert leftovers([path, tmp_path / "missing.txt"]) == []


def test_command_exits_non_zero_on_a_conflict_in_a_git_repo(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)  # noqa: S607 - git from PATH
    (tmp_path / "clean.py").write_text("x = 1\n")
    clean = subprocess.run(  # noqa: S603 - our own script, with this interpreter
        [sys.executable, SCRIPT], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert clean.returncode == 0, clean.stderr
    (tmp_path / "pyproject.toml.rej").write_text("-old\n+new\n")
    dirty = subprocess.run(  # noqa: S603 - our own script, with this interpreter
        [sys.executable, SCRIPT], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert dirty.returncode == 1
    assert "pyproject.toml.rej" in dirty.stderr
    assert "1 unresolved update conflict(s)" in dirty.stderr


def git(repo: Path, *args: str) -> None:
    subprocess.run(  # noqa: S603 - git from PATH, fixed arguments
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],  # noqa: S607
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_a_conflicted_file_is_reported_once_and_the_help_exists(tmp_path: Path) -> None:
    """Git lists an unmerged file once per merge stage; the scan names it once, and points to a
    section the onboarding guide really has."""
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "settings.py").write_text("limit = 1\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    git(tmp_path, "checkout", "-qb", "template")
    (tmp_path / "settings.py").write_text("limit = 2\n")
    git(tmp_path, "commit", "-qam", "template change")
    git(tmp_path, "checkout", "-q", "main")
    (tmp_path / "settings.py").write_text("limit = 3\n")
    git(tmp_path, "commit", "-qam", "team change")
    merge = subprocess.run(
        ["git", "merge", "-q", "template"],  # noqa: S607 - git from PATH
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert merge.returncode != 0, "the merge was meant to conflict"

    result = subprocess.run(  # noqa: S603 - our own script, with this interpreter
        [sys.executable, SCRIPT], cwd=tmp_path, capture_output=True, text=True, check=False
    )

    assert result.returncode == 1
    assert result.stderr.count("settings.py:1: conflict markers") == 1, result.stderr
    assert "1 unresolved update conflict(s)" in result.stderr
    section = re.search(r"docs/onboarding\.md, section \d+ \((.+?)\)", result.stderr)
    assert section, result.stderr
    guide = (SCRIPT.parents[1] / "docs" / "onboarding.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \d+\. {re.escape(section.group(1))}$", guide, re.MULTILINE)


def test_folders_the_update_emptied_are_removed_with_their_caches(tmp_path: Path) -> None:
    """A slice removed by `copier update` leaves its byte-code caches (git ignores them): the
    folder goes; folders that still hold a file, and caches outside the code, stay."""
    gone = tmp_path / "src" / "service" / "extraction"
    (gone / "__pycache__").mkdir(parents=True)
    (gone / "__pycache__" / "schema.cpython-312.pyc").write_bytes(b"\0")
    (gone / "sub" / "__pycache__").mkdir(parents=True)
    kept = tmp_path / "src" / "service" / "ledger"
    (kept / "__pycache__").mkdir(parents=True)
    (kept / "store.py").write_text("x = 1\n")
    venv = tmp_path / ".venv" / "lib" / "__pycache__"
    venv.mkdir(parents=True)

    removed = prune_emptied_folders(tmp_path)

    assert removed == [gone / "sub", gone]
    assert not gone.exists()
    assert (kept / "store.py").is_file()
    assert venv.is_dir()
