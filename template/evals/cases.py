"""The golden dataset: reviewable YAML files in evals/cases/, validated into typed cases.

Every `*.yaml` file in the folder is loaded (sorted by name), so a team can keep cases per
domain or per incident (`golden.yaml`, `billing.yaml`, `incident-2031.yaml`); ids are unique
across all of them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

Category = Literal["answerable", "multi_doc", "paraphrase", "unanswerable", "pii", "injection"]
Outcome = Literal["answered", "abstained", "refused"]

CASES_DIR = Path(__file__).with_name("cases")


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
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"no *.yaml case files in {path}")
    return files


def load_cases(path: Path = CASES_DIR) -> list[EvalCase]:
    """Load and validate the golden set; errors name the file, the case and the rule it breaks."""
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
