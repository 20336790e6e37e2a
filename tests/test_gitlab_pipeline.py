"""The rendered GitLab pipeline runs for real, offline, under gitlab-ci-local: the checks pass on a
fresh render, a deliberately broken test fails the pipeline, and the deploy jobs take one
release through staging to production with the local backend, roll a bad release back
automatically, and the rollback and data-refresh tasks do what they say.

The repo is the default answers with `ci_platform=gitlab` (the embedded model, so a deploy's
smoke test needs no key). Jobs run as shell jobs, as on a team's shell runner; images are
ignored there, so the jobs that build a container image (Buildah) and Renovate's are the only
ones not run.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .gitlab import job_results, run_pipeline
from .helpers import explain, git_commit_all, installed_copy, local_deploys, render, run

pytestmark = [pytest.mark.generated, pytest.mark.e2e]


def _explain(result: object) -> str:
    return explain(result, "gitlab-ci-local")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh GitLab render of the default answers, committed and installed."""
    rendered = render(tmp_path_factory.mktemp("gitlab") / "render", ci_platform="gitlab")
    return installed_copy(rendered, tmp_path_factory.mktemp("gitlab") / "repo")


@pytest.fixture
def deploy_env(repo: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private DEPLOY_ROOT and free ports; services started in it are stopped afterwards."""
    with local_deploys(repo, tmp_path) as env:
        yield env


def test_checks_pass_on_a_fresh_render(
    repo: Path, tmp_path: Path, figure: Callable[[str], None]
) -> None:
    """A merge request's pipeline: every check job passes, the whole suite runs, the eval
    gate passes and its report and the test report are kept as artifacts."""
    branch = tmp_path / "branch"
    # Without the venv (its scripts name their folder): the jobs install it, as on a runner.
    shutil.copytree(repo, branch, symlinks=True, ignore=shutil.ignore_patterns(".venv"))
    run(["git", "switch", "-qc", "feature/first-change"], branch)
    started = time.monotonic()
    result = run_pipeline(branch)
    took = time.monotonic() - started
    assert result.returncode == 0, _explain(result)
    jobs = job_results(result.stdout)
    # Off the default branch the local backend's release is built but not deployed.
    assert jobs == {"lint": "PASS", "delivery": "PASS", "test": "PASS", "bundle": "PASS"}, jobs
    assert re.search(r"=+ \d+ passed[^\n]* in [\d.]+s", result.stdout), _explain(result)
    assert "Eval gate PASSED" in result.stdout
    assert re.search(r"\d+ jobs follow the pipeline policy", result.stdout)  # make lint-pipeline
    assert (branch / "var" / "junit.xml").is_file()
    assert (branch / "var" / "eval" / "summary.md").is_file()
    figure(f"[gitlab] checks pipeline (lint, delivery, test, bundle; fresh venv): {took:.0f} s")


def test_a_broken_test_fails_the_pipeline(repo: Path, tmp_path: Path) -> None:
    """Proves the run is not vacuous: a failing test must fail the test job and the pipeline."""
    broken = tmp_path / "broken"
    shutil.copytree(repo, broken, symlinks=True, ignore=shutil.ignore_patterns(".venv"))
    (broken / "tests" / "deploy" / "test_0_deliberately_broken.py").write_text(
        "def test_deliberately_broken() -> None:\n    assert 1 + 1 == 3\n", encoding="utf-8"
    )
    git_commit_all(broken, "A deliberately broken test")
    run(["git", "switch", "-qc", "feature/broken"], broken)
    result = run_pipeline(broken, "test", variables={"PYTEST_ADDOPTS": "-x"})
    assert result.returncode != 0, _explain(result)
    assert "test_deliberately_broken" in result.stdout
    assert job_results(result.stdout) == {"test": "FAIL"}


def _state(root: Path, environment: str) -> dict[str, object]:
    state: dict[str, object] = json.loads((root / environment / "state.json").read_text())
    return state


def test_deploy_rollback_and_refresh_with_the_local_backend(
    repo: Path, deploy_env: dict[str, str], figure: Callable[[str], None]
) -> None:
    root = Path(deploy_env["DEPLOY_ROOT"])
    deploy_jobs = ("release:bundle", "staging", "production")

    # The default branch: one release, staging (smoke test, eval gate), then production by hand.
    started = time.monotonic()
    good = run_pipeline(repo, *deploy_jobs, manual=("production",), variables=deploy_env)
    took = time.monotonic() - started
    assert good.returncode == 0, _explain(good)
    assert job_results(good.stdout) == dict.fromkeys(deploy_jobs, "PASS")
    release = re.search(r"RELEASE=([0-9a-f]{12})", good.stdout)
    assert release, _explain(good)
    first = release.group(1)
    for environment in ("staging", "production"):
        assert _state(root, environment)["current"] == first, environment
    assert "Eval gate PASSED" in good.stdout
    assert "production: smoke test passed" in good.stdout

    # A bad release (its model endpoint is unreachable) fails staging's smoke test and is rolled
    # back automatically; production never sees it.
    settings = repo / "src" / "policy_assistant" / "settings.py"
    text = settings.read_text(encoding="utf-8")
    text = text.replace(
        'model_provider: Provider = "offline"', 'model_provider: Provider = "openai"'
    )
    text = text.replace(
        "model_base_url: str | None = None", 'model_base_url: str | None = "http://127.0.0.1:9/v1"'
    )
    settings.write_text(text, encoding="utf-8")
    git_commit_all(repo, "A bad release: the model endpoint is unreachable")
    try:
        bad = run_pipeline(repo, *deploy_jobs, manual=("production",), variables=deploy_env)
    finally:
        run(["git", "reset", "-q", "--hard", "HEAD~1"], repo)
    assert bad.returncode != 0, _explain(bad)
    assert job_results(bad.stdout) == {"release:bundle": "PASS", "staging": "FAIL"}
    assert f"rolled back automatically to {first}" in bad.stdout, _explain(bad)
    assert _state(root, "staging")["current"] == first
    assert _state(root, "production")["current"] == first

    # A second good release reaches staging; the rollback task takes staging back to the first.
    build = ["uv", "run", "--locked", "python", "-m", "deploy", "build"]
    second = run([*build, "--setting", "LOG_LEVEL=warning"], repo, env=deploy_env).stdout.strip()
    run(
        ["make", "deploy", "ENV=staging", "BACKEND=local", f"RELEASE={second}"],
        repo,
        env=deploy_env,
    )
    task = {"PIPELINE_TASK": "rollback", "TARGET_ENV": "staging"}
    rollback = run_pipeline(repo, variables=deploy_env | task)
    assert rollback.returncode == 0, _explain(rollback)
    assert job_results(rollback.stdout) == {"rollback": "PASS"}
    assert f"staging: rolled back to {first}" in rollback.stdout
    assert _state(root, "staging")["current"] == first

    # The data-refresh task re-ingests the corpus of the deployed release and smoke tests it.
    task = {"PIPELINE_TASK": "data-refresh", "TARGET_ENV": "staging"}
    refresh = run_pipeline(repo, variables=deploy_env | task)
    assert refresh.returncode == 0, _explain(refresh)
    assert job_results(refresh.stdout) == {"data-refresh": "PASS"}
    assert "staging: index refreshed" in refresh.stdout
    figure(f"[gitlab] deploy pipeline (release, staging with eval gate, production): {took:.0f} s")
