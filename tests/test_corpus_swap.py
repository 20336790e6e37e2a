"""Bring your own documents, done as the generated how-to says, on a corpus from another domain.

A team's first change is to replace the sample documents. This test follows
`docs/bring-your-own-documents.md` of a rendered repo step by step with a small library corpus
and its own eval cases (tests/fixtures/corpus_swap): replace the documents, synonyms and stop
words, scaffold drafts, write the cases, calibrate, accept the baseline deliberately, set the
smoke question; then `make check` and `make drill` must pass without touching any code or test.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from .helpers import free_port, installed_copy, run, stop_local_deploys

pytestmark = pytest.mark.generated

SWAP = Path(__file__).resolve().parent / "fixtures" / "corpus_swap"
SAMPLE_DOC_ID = "HR-LEAVE-002"


def new_doc_ids() -> set[str]:
    """Ids of the new documents the service may index (confidential ones it may not)."""
    ids = set()
    for document in (SWAP / "corpus").glob("*.md"):
        front_matter = yaml.safe_load(document.read_text(encoding="utf-8").split("---")[1])
        if front_matter["classification"] in {"public", "internal"}:
            ids.add(front_matter["id"])
    return ids


@pytest.fixture(scope="module")
def swapped(rendered: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default profile after steps 1-5 of the how-to."""
    repo = installed_copy(rendered["default"], tmp_path_factory.mktemp("swap") / "repo")
    data = repo / "data"
    # 1. Replace the documents, and index them.
    shutil.rmtree(data / "corpus")
    shutil.copytree(SWAP / "corpus", data / "corpus")
    ingested = run(["make", "ingest"], repo).stdout
    assert f"indexed {len(new_doc_ids())} documents" in ingested, ingested[-2000:]
    assert "quarantined 0" in ingested
    # 2. Replace the synonyms and stop words.
    for name in ("synonyms.yaml", "stop_words.yaml"):
        shutil.copy(SWAP / name, data / name)
    # 4. Scaffold drafts from the new documents, then put the team's cases in place.
    run(["make", "eval-scaffold"], repo)
    drafts = yaml.safe_load((repo / "var" / "eval" / "scaffold.yaml").read_text(encoding="utf-8"))
    assert {draft["expected"]["documents"][0] for draft in drafts} == new_doc_ids()
    for cases in (repo / "evals" / "cases").glob("*.yaml"):
        cases.unlink()
    shutil.copy(SWAP / "golden.yaml", repo / "evals" / "cases" / "golden.yaml")
    shutil.copy(SWAP / "heldout.yaml", repo / "evals" / "heldout" / "heldout.yaml")
    # 5. Calibrate on the new golden split and accept the baseline (here without a person).
    run(["make", "calibrate"], repo)
    run(["make", "eval-baseline"], repo)
    return repo


def test_nothing_of_the_sample_corpus_is_left_in_the_team_data(swapped: Path) -> None:
    for folder in ("data", "evals"):
        for path in (swapped / folder).rglob("*.*"):
            if path.suffix in {".md", ".yaml", ".json"} and path.name != "README.md":
                assert SAMPLE_DOC_ID not in path.read_text(encoding="utf-8"), path


def test_make_check_passes_on_the_new_documents(
    swapped: Path, figure: Callable[[str], None]
) -> None:
    """Lint, types, the generated tests (on their own fixtures) and the eval gate (on the new
    documents and cases), unchanged."""
    result = run(["make", "check"], swapped, timeout=1500)
    assert "Eval gate PASSED" in result.stdout, result.stdout[-4000:]
    summary = (swapped / "var" / "eval" / "summary.md").read_text(encoding="utf-8")
    figure(f"[corpus swap] eval summary on the library corpus:\n{summary[:1500]}")


def test_the_drill_passes_with_the_new_smoke_question(swapped: Path, tmp_path: Path) -> None:
    """6. Set the smoke question and prove it: deploy, a bad release rolled back, the runbook."""
    env = {
        "DEPLOY_ROOT": str(tmp_path / "deploy"),
        "DEPLOY_PORT_STAGING": str(free_port()),
        "DEPLOY_PORT_PRODUCTION": str(free_port()),
        "SMOKE_QUESTION": (SWAP / "smoke_question.txt").read_text(encoding="utf-8").strip(),
    }
    try:
        result = run(["make", "drill"], swapped, env=env, timeout=600)
    finally:
        stop_local_deploys(swapped, env)
    assert "DRILL PASSED" in result.stdout, result.stdout[-4000:]
