"""What every rendered profile contains, before anything is installed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from .helpers import PROFILES, ROOT

LEFTOVER_JINJA = re.compile(r"\{\{|\{%|\{#|%\}")
# GitHub Actions expressions (`${{ github.sha }}`) in workflows are meant to be there.
GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
# Rendered files where `{{`-like text is legitimate: Prometheus alert templates (`{{ $value }}`)
# and Grafana legend formats (`{{route}}`).
JINJA_ALLOWED: set[str] = {
    "ops/prometheus/rules.yml",
    "ops/grafana/generate.py",
    "ops/grafana/dashboards/cost-kpis.json",
    "ops/grafana/dashboards/latency-errors.json",
    "ops/grafana/dashboards/quality-guardrails-drift.json",
    "ops/grafana/dashboards/extraction.json",
}


def text_files(repo: Path) -> list[Path]:
    files = []
    for path in repo.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            try:
                path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            files.append(path)
    return files


@pytest.mark.parametrize("profile", PROFILES)
def test_no_template_syntax_left(rendered: dict[str, Path], profile: str) -> None:
    repo = rendered[profile]
    offenders = [
        str(path.relative_to(repo))
        for path in text_files(repo)
        if str(path.relative_to(repo)) not in JINJA_ALLOWED
        and LEFTOVER_JINJA.search(GITHUB_EXPRESSION.sub("", path.read_text(encoding="utf-8")))
    ]
    assert offenders == []
    assert not list(repo.rglob("*.jinja"))


@pytest.mark.parametrize("profile", PROFILES)
def test_answers_file_records_answers_and_no_secret(
    rendered: dict[str, Path], profile: str
) -> None:
    answers = yaml.safe_load((rendered[profile] / ".copier-answers.yml").read_text())
    for name, value in PROFILES[profile].items():
        assert answers[name] == value
    assert "_commit" in answers and "_src_path" in answers
    assert "reserved_package_names" not in answers, "computed values are not stored"
    for key in answers:
        assert not re.search(r"key|secret|token|password", key, re.IGNORECASE), key


@pytest.mark.parametrize("profile", PROFILES)
def test_no_real_env_file_or_secret_is_rendered(rendered: dict[str, Path], profile: str) -> None:
    repo = rendered[profile]
    assert not (repo / ".env").exists()
    example = (repo / ".env.example").read_text()
    assert "API_KEYS=replace-with-a-random-key" in example
    assert re.search(r"^MODEL_API_KEY=.+", example, re.MULTILINE) is None
    assert ".env" in (repo / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize("profile", PROFILES)
def test_python_version_agrees_everywhere(rendered: dict[str, Path], profile: str) -> None:
    repo = rendered[profile]
    version = PROFILES[profile].get("python_version", "3.12")
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
    lock = tomllib.loads((repo / "uv.lock").read_text())
    assert (repo / ".python-version").read_text().strip() == version
    assert pyproject["project"]["requires-python"] == f">={version}"
    assert lock["requires-python"] == f">={version}"
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")
    assert pyproject["tool"]["mypy"]["python_version"] == version


@pytest.mark.parametrize("profile", PROFILES)
def test_lock_names_the_project(rendered: dict[str, Path], profile: str) -> None:
    repo = rendered[profile]
    name = PROFILES[profile].get("project_name", "policy-assistant")
    lock = tomllib.loads((repo / "uv.lock").read_text())
    editable = [p for p in lock["package"] if p.get("source") == {"editable": "."}]
    assert [p["name"] for p in editable] == [name]
    assert "thinslice-lock-placeholder" not in (repo / "uv.lock").read_text()


@pytest.mark.parametrize("profile", PROFILES)
def test_provider_answer_sets_the_deployed_default(rendered: dict[str, Path], profile: str) -> None:
    repo = rendered[profile]
    answers = PROFILES[profile]
    provider = answers.get("model_provider", "offline")
    package = answers.get("package_name") or answers.get(
        "project_name", "policy-assistant"
    ).replace("-", "_")
    settings = (repo / "src" / package / "settings.py").read_text()
    assert f'model_provider: Provider = "{provider}"' in settings
    # Local runs stay offline whatever the deployed default is.
    assert "MODEL_PROVIDER=offline" in (repo / ".env.example").read_text()


@pytest.mark.parametrize("profile", PROFILES)
def test_readme_gives_the_two_commands_and_every_setting(
    rendered: dict[str, Path], profile: str
) -> None:
    repo = rendered[profile]
    readme = (repo / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    for line in (repo / ".env.example").read_text().splitlines():
        match = re.match(r"^#? ?([A-Z][A-Z0-9_]+)=", line)
        if match:
            assert f"`{match.group(1)}`" in readme, f"{match.group(1)} missing from README table"
    answers = PROFILES[profile]
    assert answers.get("owning_team", "@acme/ai-platform") in readme


def test_business_owner_handle_reviews_eval_changes(rendered: dict[str, Path]) -> None:
    with_handle = (rendered["anthropic-py313"] / ".github" / "CODEOWNERS").read_text()
    assert re.search(
        r"^/evals/thresholds\.yaml\s+@initech/service-desk\s+@initech/service-desk-leads$",
        with_handle,
        re.MULTILINE,
    )
    without = (rendered["default"] / ".github" / "CODEOWNERS").read_text()
    assert re.search(r"^/evals/thresholds\.yaml\s+@acme/ai-platform$", without, re.MULTILINE)
    assert "is not a GitHub handle" in without


@pytest.mark.parametrize("profile", PROFILES)
def test_every_yaml_file_parses_with_the_answers_intact(
    rendered: dict[str, Path], profile: str
) -> None:
    """Answers land inside YAML (on-call contacts with `:` or `#`, descriptions): still valid,
    and not cut short by a stray comment marker."""
    repo = rendered[profile]
    for path in [*repo.rglob("*.yml"), *repo.rglob("*.yaml")]:
        list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    catalog = yaml.safe_load((repo / "catalog-info.yaml").read_text())
    oncall = PROFILES[profile].get("oncall_contact", "#ai-platform-oncall")
    titles = [link["title"] for link in catalog["metadata"]["links"]]
    assert f"Incident runbook (on-call: {oncall})" in titles


@pytest.mark.parametrize("relative", [True, False])
def test_a_relative_template_path_is_warned_about_at_copy(tmp_path: Path, relative: bool) -> None:
    """`make template-update` finds the template by the recorded path: a relative one breaks it."""
    source = os.path.relpath(ROOT, tmp_path) if relative else str(ROOT)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "copier"), "copy", "--trust", "--defaults", "--quiet"]
        + [source, "project"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    answers = yaml.safe_load((tmp_path / "project" / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == source
    warned = "WARNING: the template path" in result.stderr
    assert warned == relative, result.stderr[-2000:]
