"""Property-based rendering: any valid answer set renders a repo that is formatter- and
linter-clean, whose YAML parses and in which no answer is left as Jinja.

Hypothesis generates the answers: project names that sort before, between and after every
top-level folder of the generated repo, up to the maximum lengths, free text with non-ASCII
letters and punctuation, every choice. Render + ruff + YAML only, and a bounded number of
examples, so it stays in the fast suite.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from .helpers import render

RUFF = str(Path(sys.executable).with_name("ruff"))
ANSWERS = (
    "project_name",
    "package_name",
    "description",
    "owning_team",
    "business_owner",
    "oncall_contact",
    "kpi_name",
    "model_name",
)
LEFTOVER = re.compile(r"\{\{-?\s*(" + "|".join(ANSWERS) + r")\b|\{%-?\s*(if|for)\s+[a-z_]+\s")
RESERVED = set(
    yaml.safe_load((Path(__file__).parents[1] / "copier.yml").read_text())[
        "reserved_package_names"
    ]["default"]
)
FREE_TEXT_CHARACTERS = st.characters(
    categories=("Lu", "Ll", "Nd", "Zs"), include_characters=".,;:!?()'&/#@-éßøçü中文"
)


def free_text(max_size: int) -> st.SearchStrategy[str]:
    return (
        st.text(FREE_TEXT_CHARACTERS, min_size=1, max_size=max_size)
        .map(lambda text: " ".join(text.split()))
        .filter(lambda text: text != "")
    )


project_names = st.from_regex(r"[a-z][a-z0-9]{0,9}(-[a-z0-9]{1,8}){0,4}", fullmatch=True).filter(
    lambda name: len(name) <= 44 and name.replace("-", "_") not in RESERVED
)
answer_sets = st.fixed_dictionaries(
    {
        "project_name": project_names,
        "description": free_text(200),
        "owning_team": st.from_regex(r"@[a-z0-9]{1,12}/[a-z0-9][a-z0-9_.-]{0,20}", fullmatch=True),
        "business_owner": free_text(100),
        "oncall_contact": free_text(100),
        "kpi_name": free_text(120),
        "kpi_target_percent": st.integers(1, 100),
        "model_provider": st.sampled_from(["offline", "openai", "anthropic"]),
        "use_cases": st.sampled_from([["qa"], ["extraction"], ["qa", "extraction"]]),
        "python_version": st.sampled_from(["3.11", "3.12", "3.13"]),
        "local_observability_stack": st.booleans(),
        "ci_platform": st.sampled_from(["github", "gitlab"]),
    }
)


@settings(max_examples=8, deadline=None)
@example(
    answers={
        "project_name": "a" * 44,
        "description": "Beantwortet Fragen zur Reiserichtlinie – für alle Büros (München, Zürich)",
        "owning_team": "@acme/ai-platform",
        "business_owner": "Directrice Opérations & RH",
        "oncall_contact": "#ai-oncall: ask here",
        "kpi_name": "question answered: no escalation # first contact",
        "kpi_target_percent": 100,
        "model_provider": "openai",
        "use_cases": ["qa", "extraction"],
        "python_version": "3.11",
        "local_observability_stack": False,
        "ci_platform": "gitlab",
    }
)
@given(answers=answer_sets)
def test_any_valid_answers_render_a_clean_repo(
    answers: dict[str, Any], tmp_path_factory: Any
) -> None:
    repo = render(tmp_path_factory.mktemp("render") / "repo", **answers)

    for command in ([RUFF, "check", "--no-cache", "."], [RUFF, "format", "--check", "."]):
        result = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{answers}: {' '.join(command[1:])}\n{result.stdout}"
    for path in repo.rglob("*"):
        if ".git" in path.parts or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not LEFTOVER.search(text), f"{answers}: Jinja left in {path.relative_to(repo)}"
        if path.suffix in {".yml", ".yaml"}:
            list(yaml.safe_load_all(text))
