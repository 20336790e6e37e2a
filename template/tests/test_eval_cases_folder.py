"""The golden set is every `evals/cases/*.yaml`: teams add files per domain or incident."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.cases import CASES_DIR, case_files, load_cases

CASE = """
- id: {id}
  category: unanswerable
  question: What is the canteen menu on Friday?
  expected:
    outcome: abstained
"""


def test_the_shipped_golden_set_is_one_file_in_the_folder() -> None:
    assert [path.name for path in case_files(CASES_DIR)] == ["golden.yaml"]


def test_every_yaml_file_in_the_folder_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "golden.yaml").write_text((CASES_DIR / "golden.yaml").read_text())
    (tmp_path / "incident-42.yaml").write_text(CASE.format(id="incident-42-canteen"))
    (tmp_path / "notes.txt").write_text("not a case file")
    cases = load_cases(tmp_path)
    assert len(cases) == len(load_cases()) + 1
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
