"""Static guarantees of the rendered GitHub workflows, in every profile: least privilege, actions
pinned by commit SHA, no credentials left on disk, no expressions spliced into shell scripts,
superseded runs cancelled, one release promoted from staging to production.

zizmor (the security linter) runs on them in test_generated.py; act runs them in
test_delivery.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from .helpers import PROFILES, platform, slices

WORKFLOWS = ["ci.yml", "deploy.yml", "rollback.yml", "data-refresh.yml", "template-update.yml"]
# The data refresh re-ingests the Q&A slice's corpus: repos without that slice have none.
QA_ONLY = {"data-refresh.yml"}


def workflows(profile: str) -> list[str]:
    return [name for name in WORKFLOWS if name not in QA_ONLY or "qa" in slices(profile)]


# The profiles delivered by GitHub, and every (profile, workflow) they have (test_gitlab_files.py
# checks the others).
GITHUB = [profile for profile in PROFILES if platform(profile) == "github"]
RENDERED = [(profile, name) for profile in GITHUB for name in workflows(profile)]
# Write access beyond `contents: read`, and why: pushing images; pushing the update branch and
# opening its pull request.
EXTRA_PERMISSIONS = {
    "deploy.yml": {"packages": "write"},
    "template-update.yml": {"contents": "write", "pull-requests": "write"},
}
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses: (\S+) # v\d+\.\d+\.\d+$")


def load(repo: Path, name: str) -> dict[str, Any]:
    workflow: dict[str, Any] = yaml.safe_load((repo / ".github" / "workflows" / name).read_text())
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as a boolean
    return workflow


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize(("profile", "name"), RENDERED)
def test_least_privilege_and_time_limits(
    rendered: dict[str, Path], profile: str, name: str
) -> None:
    workflow = load(rendered[profile], name)
    assert workflow["permissions"] == {}, "no default token permissions"
    allowed = {"contents": "read"} | EXTRA_PERMISSIONS.get(name, {})
    for job_name, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{job_name}: explicit permissions"
        for scope, level in job["permissions"].items():
            assert allowed.get(scope) == level, f"{name} {job_name}: {scope}: {level}"
        assert job.get("timeout-minutes"), f"{job_name}: a time limit"


@pytest.mark.parametrize(("profile", "name"), RENDERED)
def test_actions_pinned_by_sha_with_version(
    rendered: dict[str, Path], profile: str, name: str
) -> None:
    text = (rendered[profile] / ".github" / "workflows" / name).read_text()
    for step in steps(load(rendered[profile], name)):
        if "uses" in step:
            assert PINNED.match(step["uses"]), f"{step['uses']} is not pinned by commit SHA"
    for line in text.splitlines():
        if "uses:" in line:
            assert VERSION_COMMENT.search(line), f"no `# vX.Y.Z` comment: {line.strip()}"


@pytest.mark.parametrize("profile", GITHUB)
def test_one_sha_per_action_across_workflows(rendered: dict[str, Path], profile: str) -> None:
    pins: dict[str, set[str]] = {}
    for name in workflows(profile):
        for step in steps(load(rendered[profile], name)):
            if "uses" in step:
                action, _, sha = step["uses"].partition("@")
                pins.setdefault(action, set()).add(sha)
    assert {action: shas for action, shas in pins.items() if len(shas) > 1} == {}


@pytest.mark.parametrize(("profile", "name"), RENDERED)
def test_checkout_keeps_no_credentials_and_run_has_no_expressions(
    rendered: dict[str, Path], profile: str, name: str
) -> None:
    for step in steps(load(rendered[profile], name)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False
        if "run" in step:
            # Values reach scripts through `env:`, never spliced in (template injection).
            assert "${{" not in step["run"], f"expression in run: {step.get('name')}"


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_has_exactly_its_workflows(rendered: dict[str, Path], profile: str) -> None:
    workflows_dir = rendered[profile] / ".github" / "workflows"
    if platform(profile) != "github":
        assert not (rendered[profile] / ".github").exists()
        return
    present = sorted(path.name for path in workflows_dir.iterdir())
    assert present == sorted(workflows(profile))


def test_ci_cancels_superseded_runs_and_deploys_queue(rendered: dict[str, Path]) -> None:
    repo = rendered["default"]
    assert load(repo, "ci.yml")["concurrency"]["cancel-in-progress"] is True
    deploy = load(repo, "deploy.yml")
    assert deploy["concurrency"]["cancel-in-progress"] is False
    groups = {
        name: job["concurrency"]["group"]
        for name, job in deploy["jobs"].items()
        if "concurrency" in job
    }
    assert groups == {"staging": "deploy-staging", "production": "deploy-production"}
    # Rollback and data refresh never run at the same time as a deploy to the same environment.
    for name in ("rollback.yml", "data-refresh.yml"):
        job = next(iter(load(repo, name)["jobs"].values()))
        assert job["concurrency"]["group"].startswith("deploy-${{ inputs.environment")


def test_deploy_promotes_the_same_release_behind_the_production_environment(
    rendered: dict[str, Path],
) -> None:
    jobs = load(rendered["default"], "deploy.yml")["jobs"]
    assert jobs["staging"]["needs"] == "build"
    assert set(jobs["production"]["needs"]) == {"build", "staging"}
    assert jobs["production"]["environment"]["name"] == "production"
    for stage in ("staging", "production"):
        assert jobs[stage]["env"]["RELEASE"] == "${{ needs.build.outputs.release }}"
    production_steps = [step.get("name", "") for step in jobs["production"]["steps"]]
    assert "Post-deploy smoke test" in production_steps
    rollback = next(
        s for s in jobs["production"]["steps"] if s.get("name", "").startswith("Roll back")
    )
    assert rollback["if"] == "${{ failure() && steps.deploy.outputs.deployed == 'true' }}"


def test_ci_runs_every_gate(rendered: dict[str, Path]) -> None:
    runs = " ".join(step.get("run", "") for step in steps(load(rendered["default"], "ci.yml")))
    for target in (
        "pre-commit",
        "typecheck",
        "test",
        "eval",
        "lint-workflows",
        "lint-docker",
        "manifests",
    ):
        assert f"make {target}" in runs, target


def test_dependabot_updates_the_pins(rendered: dict[str, Path]) -> None:
    config = yaml.safe_load((rendered["default"] / ".github" / "dependabot.yml").read_text())
    assert {"github-actions", "uv"} <= {update["package-ecosystem"] for update in config["updates"]}


def test_make_ci_runs_exactly_what_the_ci_workflow_runs(rendered: dict[str, Path]) -> None:
    """`make ci` is the CI workflow on a laptop: the same make targets, in the same order."""
    repo = rendered["default"]
    workflow_targets = [
        match
        for step in steps(load(repo, "ci.yml"))
        for match in re.findall(r"^make ([\w-]+)", step.get("run", ""), re.MULTILINE)
    ]
    rule = re.search(r"^ci: (.*?) ##", (repo / "Makefile").read_text(), re.MULTILINE)
    assert rule is not None, "the Makefile has no `ci` target"
    assert rule.group(1).split() == workflow_targets
