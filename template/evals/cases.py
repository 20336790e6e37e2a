"""The eval cases: reviewable YAML files, validated into typed cases, in two splits.

- golden (`evals/cases/*.yaml`): the development split. The team tunes against it.
- heldout (`evals/heldout/*.yaml`): nothing is tuned against it; it measures whether what was
  tuned on the golden split generalises to questions nobody looked at while tuning.

Every `*.yaml` file in a split's folder is loaded (sorted by name), so a team can keep cases
per domain or per incident (`golden.yaml`, `billing.yaml`, `incident-2031.yaml`). Ids are
unique across both splits, and no held-out question may repeat a golden one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

Category = Literal["answerable", "multi_doc", "paraphrase", "unanswerable", "pii", "injection"]
Outcome = Literal["answered", "abstained", "refused"]
Split = Literal["golden", "heldout"]

SPLITS: tuple[Split, ...] = ("golden", "heldout")
SPLIT_LABELS: dict[Split, str] = {"golden": "golden", "heldout": "held-out"}
CASES_DIR = Path(__file__).with_name("cases")
HELDOUT_DIR = Path(__file__).with_name("heldout")


class Expected(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Outcome
    facts: tuple[str, ...] = Field(default=(), description="Substrings the answer must contain")
    documents: tuple[str, ...] = Field(default=(), description="Doc ids the answer must cite")

    @model_validator(mode="after")
    def _answers_need_evidence(self) -> Expected:
        if self.outcome == "answered" and not self.documents:
            raise ValueError("an answered case must list the documents it should cite")
        if self.outcome != "answered" and (self.facts or self.documents):
            raise ValueError(f"a {self.outcome} case cannot expect facts or documents")
        return self


class EvalCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    category: Category
    question: str = Field(min_length=1)
    expected: Expected
    pii: tuple[str, ...] = Field(default=(), description="PII in the question that must not leak")

    @model_validator(mode="after")
    def _category_matches_expectation(self) -> EvalCase:
        required: dict[str, Outcome] = {"unanswerable": "abstained", "injection": "refused"}
        if self.category in required and self.expected.outcome != required[self.category]:
            raise ValueError(f"{self.category} cases must expect {required[self.category]}")
        if (self.category == "pii") != bool(self.pii):
            raise ValueError("pii cases, and only they, list the PII strings in the question")
        return self


def case_files(path: Path = CASES_DIR) -> list[Path]:
    """The YAML files of a cases folder (or the single file given)."""
    if not path.exists():
        raise ValueError(f"no case folder or file at {path}")
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"no *.yaml case files in {path}")
    return files


def has_cases(path: Path) -> bool:
    """Whether a split exists: a case file, or a folder with at least one `*.yaml`."""
    return path.is_file() or (path.is_dir() and any(path.glob("*.yaml")))


def load_cases(path: Path = CASES_DIR) -> list[EvalCase]:
    """Load and validate one split; errors name the file, the case and the rule it breaks."""
    cases: list[EvalCase] = []
    for file in case_files(path):
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or []
        try:
            cases.extend(TypeAdapter(list[EvalCase]).validate_python(raw))
        except ValueError as error:
            raise ValueError(f"{file}: {error}") from error
    duplicates = [name for name, count in Counter(c.id for c in cases).items() if count > 1]
    if duplicates:
        raise ValueError(f"duplicate case ids in {path}: {', '.join(sorted(duplicates))}")
    return cases


def _same_question(question: str) -> str:
    """A question as compared across splits: case, spacing and punctuation do not count."""
    return " ".join(re.findall(r"[a-z0-9]+", question.casefold()))


def load_splits(
    golden: Path = CASES_DIR, heldout: Path = HELDOUT_DIR, *, splits: Iterable[Split] = SPLITS
) -> dict[Split, list[EvalCase]]:
    """The cases of the splits asked for, checked against each other.

    A split that is asked for must have cases. The other one is loaded too when it has any, so
    that ids stay unique across both and a held-out case is never a copy of a golden one.
    """
    wanted = set(splits)
    paths: dict[Split, Path] = {"golden": golden, "heldout": heldout}
    loaded = {
        split: load_cases(path)
        for split, path in paths.items()
        if split in wanted or has_cases(path)
    }
    if "golden" in loaded and "heldout" in loaded:
        golden_ids = {case.id for case in loaded["golden"]}
        shared = sorted(golden_ids & {case.id for case in loaded["heldout"]})
        if shared:
            raise ValueError(f"case ids in both splits (golden and held-out): {', '.join(shared)}")
        golden_questions = {_same_question(case.question): case.id for case in loaded["golden"]}
        copies = [
            f"{case.id} (golden {golden_questions[_same_question(case.question)]})"
            for case in loaded["heldout"]
            if _same_question(case.question) in golden_questions
        ]
        if copies:
            raise ValueError(f"held-out cases that repeat a golden question: {', '.join(copies)}")
    return {split: cases for split, cases in loaded.items() if split in wanted}
