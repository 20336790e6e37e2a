"""The golden split is every `evals/cases/*.yaml` (teams add files per domain or incident), the
held-out split every `evals/heldout/*.yaml`; ids are unique across both, and a held-out case is
never a copy of a golden one."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.cases import CASES_DIR, HELDOUT_DIR, case_files, has_cases, load_cases, load_splits

CASE = """
- id: {id}
  category: unanswerable
  question: What is the canteen menu on Friday?
  expected:
    outcome: abstained
"""


OTHER_CASE = """
- id: {id}
  category: unanswerable
  question: {question}
  expected:
    outcome: abstained
"""


def test_the_repo_splits_are_apart() -> None:
    """No id in both splits, no held-out question copied from a golden one (a repo updated
    from an older template may have no held-out split yet)."""
    assert "golden.yaml" in [path.name for path in case_files(CASES_DIR)]
    splits = load_splits(splits=["golden"])  # checks against evals/heldout/ when it has cases
    assert splits == {"golden": load_cases(CASES_DIR)}
    if has_cases(HELDOUT_DIR):
        assert load_splits()["heldout"] == load_cases(HELDOUT_DIR)


def test_every_yaml_file_in_the_folder_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "golden.yaml").write_text((CASES_DIR / "golden.yaml").read_text())
    (tmp_path / "incident-42.yaml").write_text(CASE.format(id="incident-42-canteen"))
    (tmp_path / "notes.txt").write_text("not a case file")
    cases = load_cases(tmp_path)
    assert len(cases) == len(load_cases(CASES_DIR / "golden.yaml")) + 1
    assert cases[-1].id == "incident-42-canteen"


def test_ids_are_unique_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CASE.format(id="same-id"))
    (tmp_path / "b.yaml").write_text(CASE.format(id="same-id"))
    with pytest.raises(ValueError, match=r"duplicate case ids .*same-id"):
        load_cases(tmp_path)


def test_a_bad_case_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(CASE.format(id="Not Valid"))
    with pytest.raises(ValueError, match=r"broken\.yaml"):
        load_cases(tmp_path)


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no \*\.yaml case files"):
        load_cases(tmp_path)


def _splits(tmp_path: Path, golden: str, heldout: str) -> tuple[Path, Path]:
    (tmp_path / "cases").mkdir()
    (tmp_path / "heldout").mkdir()
    (tmp_path / "cases" / "golden.yaml").write_text(golden)
    (tmp_path / "heldout" / "heldout.yaml").write_text(heldout)
    return tmp_path / "cases", tmp_path / "heldout"


def test_both_splits_load_apart(tmp_path: Path) -> None:
    golden, heldout = _splits(
        tmp_path,
        OTHER_CASE.format(id="canteen", question="What is the canteen menu on Friday?"),
        OTHER_CASE.format(id="ho-parking", question="Is there free parking for visitors?"),
    )
    splits = load_splits(golden, heldout)
    assert {split: [c.id for c in cases] for split, cases in splits.items()} == {
        "golden": ["canteen"],
        "heldout": ["ho-parking"],
    }
    assert list(load_splits(golden, heldout, splits=["heldout"])) == ["heldout"]


def test_ids_are_unique_across_the_splits(tmp_path: Path) -> None:
    golden, heldout = _splits(
        tmp_path,
        OTHER_CASE.format(id="same-id", question="What is the canteen menu on Friday?"),
        OTHER_CASE.format(id="same-id", question="Is there free parking for visitors?"),
    )
    with pytest.raises(ValueError, match=r"case ids in both splits.*same-id"):
        load_splits(golden, heldout)
    # Also when only one split runs: the rule is about the files, not the run.
    with pytest.raises(ValueError, match=r"same-id"):
        load_splits(golden, heldout, splits=["golden"])


def test_a_held_out_case_cannot_repeat_a_golden_question(tmp_path: Path) -> None:
    """Case, spacing and punctuation do not make a copy a new question."""
    golden, heldout = _splits(
        tmp_path,
        OTHER_CASE.format(id="canteen", question="What is the canteen menu on Friday?"),
        OTHER_CASE.format(id="ho-canteen", question="what is the  canteen menu on friday"),
    )
    with pytest.raises(
        ValueError, match=r"repeat a golden question: ho-canteen \(golden canteen\)"
    ):
        load_splits(golden, heldout)


def test_a_split_that_runs_must_have_cases(tmp_path: Path) -> None:
    golden, heldout = _splits(
        tmp_path, OTHER_CASE.format(id="canteen", question="What is the canteen menu?"), ""
    )
    (heldout / "heldout.yaml").unlink()
    assert list(load_splits(golden, heldout, splits=["golden"])) == ["golden"]
    with pytest.raises(ValueError, match=r"no \*\.yaml case files"):
        load_splits(golden, heldout)
    with pytest.raises(ValueError, match=r"no case folder or file at .*missing"):
        load_splits(golden, tmp_path / "missing")
