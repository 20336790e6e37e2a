"""Static guarantees of a GitLab render: the pipeline instead of the GitHub workflows, its check
jobs run exactly `make ci`, the delivery files follow the slices, ownership sits where GitLab
reads it. The rendered repo's own tests check the pipeline's policy (tests/repo/
test_pipeline_policy.py, `make lint-pipeline`); gitlab-ci-local runs it in
test_gitlab_pipeline.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from .helpers import PROFILES, platform, render, slices

GITLAB = [profile for profile in PROFILES if platform(profile) == "gitlab"]
# The check jobs, in the order `make ci` runs their targets.
CHECK_JOBS = ["lint", "test", "delivery", "bundle"]


def pipeline(repo: Path) -> dict[str, Any]:
    """The root file and its local includes, merged."""
    config: dict[str, Any] = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
    for include in config["include"]:
        config |= yaml.safe_load((repo / include["local"]).read_text())
    return config


def test_at_least_one_profile_is_delivered_by_gitlab() -> None:
    assert GITLAB, "the render matrix must keep a GitLab profile"


@pytest.mark.parametrize("profile", GITLAB)
def test_a_gitlab_render_has_the_pipeline_and_no_github_files(
    rendered: dict[str, Path], profile: str
) -> None:
    repo = rendered[profile]
    assert not (repo / ".github").exists()
    for path in (
        ".gitlab-ci.yml",
        ".gitlab/ci/checks.yml",
        ".gitlab/ci/deploy.yml",
        ".gitlab/ci/tasks.yml",
        ".gitlab/CODEOWNERS",
        ".gitlab/merge_request_templates/Default.md",
        "renovate.json",
        "docs/delivery.md",
    ):
        assert (repo / path).is_file(), path
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["ci_platform"] == "gitlab"
    # Catalog links and annotations point at GitLab, with its URL layout.
    catalog = (repo / "catalog-info.yaml").read_text()
    assert "gitlab.com/project-slug:" in catalog
    assert "github" not in catalog.lower()
    assert "/-/blob/main/docs/runbooks/rollback.md" in catalog
    json.loads((repo / "renovate.json").read_text())


def test_a_github_render_has_no_gitlab_files(rendered: dict[str, Path]) -> None:
    repo = rendered["default"]
    assert (repo / ".github" / "workflows" / "ci.yml").is_file()
    for path in (".gitlab-ci.yml", ".gitlab", "renovate.json", "scripts/lint_pipeline.py"):
        assert not (repo / path).exists(), path
    assert "lint-pipeline" not in (repo / "Makefile").read_text()


@pytest.mark.parametrize("profile", GITLAB)
def test_make_ci_runs_exactly_what_the_check_jobs_run(
    rendered: dict[str, Path], profile: str
) -> None:
    """`make ci` is the pipeline's checks on a laptop: the same make targets, in the same order."""
    repo = rendered[profile]
    config = pipeline(repo)
    job_targets = [
        target
        for job in CHECK_JOBS
        for line in config[job]["script"]
        for target in re.findall(r"^make ([\w-]+)", line)
    ]
    rule = re.search(r"^ci: (.*?) ##", (repo / "Makefile").read_text(), re.MULTILINE)
    assert rule is not None, "the Makefile has no `ci` target"
    assert rule.group(1).split() == job_targets


@pytest.mark.parametrize("profile", GITLAB)
def test_one_release_is_promoted_by_hand_to_production(
    rendered: dict[str, Path], profile: str
) -> None:
    config = pipeline(rendered[profile])
    for build in ("release:image", "release:bundle"):
        assert config[build]["artifacts"]["reports"]["dotenv"] == "release.env"
    for environment in ("staging", "production"):
        job = config[environment]
        assert job["environment"]["name"] == environment
        assert job["resource_group"] == environment
        assert any('RELEASE="$RELEASE"' in line for line in job["script"])
    manual = [rule for rule in config["production"]["rules"] if rule.get("when") == "manual"]
    assert manual == [
        {"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", "when": "manual", "allow_failure": False}
    ]
    # The post-deploy smoke test rolls production back when it fails.
    assert "make rollback ENV=production" in config["production"]["script"][-1]


def test_the_data_refresh_task_follows_the_qa_slice(tmp_path: Path) -> None:
    """Only a repo with the Q&A slice has a corpus to refresh."""
    with_qa = [p for p in GITLAB if "qa" in slices(p)]
    assert with_qa, "a GitLab profile with the Q&A slice"
    extraction_only = render(tmp_path / "x", ci_platform="gitlab", use_cases=["extraction"])
    assert "data-refresh" not in pipeline(extraction_only)
    assert "data-refresh" not in (extraction_only / ".gitlab-ci.yml").read_text()
    assert "PIPELINE_TASK" in (extraction_only / ".gitlab-ci.yml").read_text()


@pytest.mark.parametrize("profile", GITLAB)
def test_data_refresh_runs_only_as_its_task(rendered: dict[str, Path], profile: str) -> None:
    config = pipeline(rendered[profile])
    assert config["data-refresh"]["rules"] == [
        {"if": '$PIPELINE_TASK == "data-refresh" && $TARGET_ENV =~ /^(staging|production)$/'}
    ]
