"""Every relative link in the repo's Markdown points at a file that exists: a doc that sends the
reader to a runbook, a workflow or a test that is not there is worse than no link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support import REPO_ROOT

# Ignored by git: tool state, caches and copies of the repo (gitlab-ci-local builds).
SKIPPED = {".venv", "var", ".git", "node_modules", ".cache", ".gitlab-ci-local"}
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def markdown_files() -> list[Path]:
    return sorted(
        path
        for path in REPO_ROOT.rglob("*.md")
        if not SKIPPED & set(path.relative_to(REPO_ROOT).parts)
    )


@pytest.mark.parametrize(
    "document", markdown_files(), ids=lambda path: str(path.relative_to(REPO_ROOT))
)
def test_relative_links_resolve(document: Path) -> None:
    missing = [
        target
        for target in LINK.findall(document.read_text(encoding="utf-8"))
        if "://" not in target
        and not target.startswith("mailto:")
        and not (document.parent / target).exists()
    ]
    assert missing == [], f"{document.relative_to(REPO_ROOT)} links to files that do not exist"
