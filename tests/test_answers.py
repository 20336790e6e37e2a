"""Copier questions: defaults, derived values, and invalid answers rejected with clear messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from .helpers import ROOT, render

QUESTIONS = yaml.safe_load((ROOT / "copier.yml").read_text())


MAX_MESSAGE_CHARS = 120


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_name": ""}, "project_name must not be empty"),
        ({"project_name": "My Service"}, "lower-case letters, digits and single hyphens"),
        ({"project_name": "svc/evil"}, "use lower-case letters, digits and single hyphens"),
        ({"project_name": "../escape"}, "use lower-case letters, digits and single hyphens"),
        ({"project_name": "Policy"}, "use lower-case letters, digits and single hyphens"),
        ({"project_name": "9lives"}, "use lower-case letters, digits and single hyphens"),
        ({"project_name": "double--hyphen"}, "use lower-case letters, digits and single hyphens"),
        ({"project_name": "trailing-"}, "use lower-case letters, digits and single hyphens"),
        ({"project_name": "under_score"}, "use lower-case letters, digits and single hyphens"),
        ({"project_name": "class"}, "Python keyword"),
        ({"project_name": "fastapi"}, "shadows a module"),
        ({"project_name": "deploy"}, "shadows a module"),
        ({"project_name": "x" * 45}, "44 characters or fewer"),
        ({"package_name": "1abc"}, "valid lower-case Python identifier"),
        ({"package_name": "my-pkg"}, "valid lower-case Python identifier"),
        ({"package_name": "import"}, "Python keyword"),
        ({"description": "  "}, "description must not be empty"),
        ({"description": "two\nlines"}, "single line"),
        ({"description": 'say "hi"'}, "double quotes"),
        ({"owning_team": "ai-platform"}, "GitHub team handle like @org/team-name"),
        ({"owning_team": "@acme"}, "GitHub team handle"),
        ({"owning_team": "@acme/team with space"}, "GitHub team handle"),
        ({"ci_platform": "gitlab", "owning_team": "acme"}, "GitLab group handle like @group"),
        ({"ci_platform": "gitlab", "owning_team": "@acme/a b"}, "GitLab group handle"),
        ({"ci_platform": "jenkins"}, "Invalid choice for 'ci_platform'"),
        ({"business_owner": ""}, "business_owner must not be empty"),
        ({"oncall_contact": ""}, "oncall_contact must not be empty"),
        ({"kpi_name": ""}, "kpi_name must not be empty"),
        ({"kpi_target_percent": 0}, "between 1 and 100"),
        ({"kpi_target_percent": 101}, "between 1 and 100"),
        ({"model_provider": "openai", "model_name": "gpt 4"}, "model identifier"),
        ({"model_provider": "bogus"}, "Invalid choice for 'model_provider'"),
        ({"python_version": "3.9"}, "Invalid choice for 'python_version'"),
        ({"use_cases": []}, "choose at least one use case"),
        ({"use_cases": ["qa", "chat"]}, "Invalid choice for 'use_cases'"),
    ],
)
def test_invalid_answers_are_rejected_with_a_message(
    tmp_path: Path, answers: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        render(tmp_path / "out", **answers)
    assert message in str(caught.value)
    # Copier's prompt shows our message (without this prefix) on one line, cut at 140 columns.
    shown = re.sub(r"^Validation error for question '\w+': ", "", str(caught.value))
    assert len(shown) <= MAX_MESSAGE_CHARS, shown
    assert not (tmp_path / "out" / "pyproject.toml").exists(), "nothing is rendered on bad input"


def test_package_name_is_derived_and_can_be_overridden(tmp_path: Path) -> None:
    derived = render(tmp_path / "a", project_name="claims-bot")
    assert (derived / "src" / "claims_bot" / "app.py").is_file()
    custom = render(tmp_path / "b", project_name="claims-bot", package_name="claimsbot")
    assert (custom / "src" / "claimsbot" / "app.py").is_file()
    assert 'module-name = "claimsbot"' in (custom / "pyproject.toml").read_text()


def test_every_question_has_help_and_free_text_has_a_validator() -> None:
    questions = {k: v for k, v in QUESTIONS.items() if not k.startswith("_")}
    for name, spec in questions.items():
        if spec.get("when") is False:
            continue  # computed, never asked
        assert spec.get("help"), f"{name} has no help text"
        if spec.get("type") in {"str", "int"} and "choices" not in spec:
            assert spec.get("validator"), f"{name} is free text without a validator"
        assert not spec.get("secret"), f"{name}: thinslice asks for no secrets"
