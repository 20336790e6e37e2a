"""The documentation site builds strictly, lists every copier.yml question, and has no dead links."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .helpers import ROOT, browse, chromium, no_network_prefix, run

DOCS = ROOT / "docs"
ANSWERS_PAGE = DOCS / "reference" / "answers.md"
FENCED_CODE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def copier_questions() -> dict[str, dict[str, object]]:
    """Every question copier.yml asks: top-level keys without `_`, except computed values."""
    config = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    return {
        name: spec
        for name, spec in config.items()
        if not name.startswith("_") and not (isinstance(spec, dict) and spec.get("when") is False)
    }


def documented_questions(page: str) -> dict[str, str]:
    """Question name -> type cell of the table under `## Questions` on the answers page."""
    section = page.split("\n## Questions\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([a-z_][a-z0-9_]*)`", cells[0])
        if match:
            assert match[1] not in rows, f"{match[1]} is listed twice"
            rows[match[1]] = cells[1]
    return rows


def test_mkdocs_builds_strictly(tmp_path: Path) -> None:
    # Never --quiet: it drops warnings before --strict can count them, and the build "passes".
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path)],
        cwd=ROOT,
        env=os.environ | {"NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "reference" / "answers" / "index.html").is_file()


def test_answers_page_lists_exactly_the_questions_of_copier_yml() -> None:
    questions = copier_questions()
    assert "project_name" in questions
    assert "reserved_package_names" not in questions  # computed (`when: false`), never asked
    documented = documented_questions(ANSWERS_PAGE.read_text(encoding="utf-8"))
    missing = sorted(set(questions) - set(documented))
    unknown = sorted(set(documented) - set(questions))
    assert not missing, f"questions in copier.yml missing from {ANSWERS_PAGE.name}: {missing}"
    assert not unknown, f"{ANSWERS_PAGE.name} lists questions copier.yml does not ask: {unknown}"
    for name, spec in questions.items():
        assert f"`{spec.get('type', 'str')}`" in documented[name], f"{name}: wrong type"


def test_relative_links_in_docs_resolve() -> None:
    pages = sorted(DOCS.rglob("*.md"))
    assert pages
    dead = []
    for page in pages:
        text = INLINE_CODE.sub("", FENCED_CODE.sub("", page.read_text(encoding="utf-8")))
        for target in MARKDOWN_LINK.findall(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # external (https:, mailto:) or an anchor on the same page
            path = target.split("#", 1)[0]
            if not (page.parent / path).resolve().exists():
                dead.append(f"{page.relative_to(ROOT)}: {target}")
    assert not dead, "dead relative links:\n" + "\n".join(dead)


@pytest.mark.e2e
def test_diagrams_render_with_no_network(tmp_path: Path) -> None:
    """Mermaid is served with the site: with no network, every diagram of a page is rendered by
    it, none is left as raw `flowchart` text (what a CDN-loaded Mermaid leaves offline)."""
    prefix = no_network_prefix()
    browser = chromium()
    assert browser, "chromium is not installed: .ci/run installs it (apt-get install chromium)"
    run(["make", "docs-assets"], ROOT)
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    page = site / "explanation" / "architecture" / "index.html"
    diagrams = (DOCS / "explanation" / "architecture.md").read_text().count("```mermaid")
    assert diagrams >= 2

    dom = browse(browser, page.as_uri(), budget_ms=10000, prefix=prefix)

    assert dom.count('<div class="mermaid">') == diagrams, dom[-2000:]
    assert "<code>flowchart" not in dom
