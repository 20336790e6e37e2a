"""Run a rendered repo's GitLab pipeline offline with gitlab-ci-local (npm, pinned in
tests/fixtures/gitlab-ci-local), every job as a shell job on this machine.

The pipeline runs as written; only the project variables a team sets in GitLab's settings come
from here: DEPLOY_BACKEND=local (no registry or cluster on this machine, as on a team's shell
runner) and the shared uv cache. gitlab-ci-local needs a git remote named `origin` (any URL)
and rsync.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from .helpers import ROOT, project_env, run

PACKAGE = ROOT / "tests" / "fixtures" / "gitlab-ci-local"
BINARY = PACKAGE / "node_modules" / ".bin" / "gitlab-ci-local"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def gitlab_ci_local() -> Path:
    """The pinned gitlab-ci-local, installed from its lock file on first use."""
    if not BINARY.exists():
        npm = shutil.which("npm")
        assert npm, "npm is required to install gitlab-ci-local (Debian: apt-get install npm)"
        run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], PACKAGE, timeout=300)
    assert shutil.which("rsync"), "gitlab-ci-local needs rsync (Debian: apt-get install rsync)"
    return BINARY


def uv_cache_dir() -> str:
    return run(["uv", "cache", "dir"], ROOT).stdout.strip()


def run_pipeline(
    repo: Path,
    *jobs: str,
    variables: dict[str, str] | None = None,
    manual: tuple[str, ...] = (),
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """Run the pipeline of `repo` at its HEAD (or only `jobs`); the exit code is not checked.
    stdout comes back without colour codes."""
    if not run(["git", "remote"], repo).stdout.split():
        run(["git", "remote", "add", "origin", "https://gitlab.example.internal/acme/x.git"], repo)
    args = [str(gitlab_ci_local()), "--force-shell-executor", "--no-color", *jobs]
    for name in manual:
        args += ["--manual", name]
    project_variables = {"DEPLOY_BACKEND": "local", "UV_CACHE_DIR": uv_cache_dir()}
    for name, value in (project_variables | (variables or {})).items():
        args += ["--variable", f"{name}={value}"]
    result = subprocess.run(
        args,
        cwd=repo,
        env=project_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    result.stdout = ANSI.sub("", result.stdout)
    return result


def job_results(output: str) -> dict[str, str]:
    """PASS/FAIL (and warning) per job, from gitlab-ci-local's closing summary."""
    return {
        name: status
        for status, name in re.findall(r"^ (PASS|FAIL|WARN)\s+(\S+)\s*$", output, re.MULTILINE)
    }
