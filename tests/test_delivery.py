"""The rendered delivery pipeline runs for real: CI and deploy workflows under act (offline, host
mode), a deliberately broken test that must fail CI, the data-refresh workflow, and the rollback
drill that executes the runbook.

Under act the deploy steps use the local backend (release folders on this machine) instead of a
registry and a cluster; everything else in the workflows runs as written.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .act import run_act
from .helpers import explain, git_commit_all, installed_copy, local_deploys, run

pytestmark = [pytest.mark.generated, pytest.mark.e2e]


def _explain(result: object) -> str:
    return explain(result, "act")


@pytest.fixture(scope="module")
def repo(rendered: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default profile, committed and installed (act copies the committed tree)."""
    return installed_copy(rendered["default"], tmp_path_factory.mktemp("delivery") / "repo")


@pytest.fixture
def deploy_root(repo: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private DEPLOY_ROOT and free ports; services started in it are stopped afterwards."""
    with local_deploys(repo, tmp_path) as env:
        yield env


def _assert_ci_passed(result: object, artifacts: Path, reports: dict[str, str]) -> None:
    """Every CI job and step succeeded, the whole suite ran, and each eval gate passed and kept
    its report (`reports`: what the gate prints -> the report file) as an artifact."""
    assert getattr(result, "returncode", 1) == 0, _explain(result)
    output: str = getattr(result, "stdout", "")
    # CI runs the whole suite, the `slow` tier included (test_generated runs only quick tests).
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)  # pytest colours its summary under act
    summaries = re.findall(r"=+ \d+ passed[^\n]* in [\d.]+s", plain)
    assert summaries, [line for line in plain.splitlines() if " passed" in line][-5:]
    assert not any("deselected" in line for line in summaries), summaries
    for job in (
        "Lint, format and types",
        "Tests and eval gate",
        "Workflows, Dockerfile and manifests",
        "Container image",
    ):
        assert re.search(rf"\[ci/{re.escape(job)}\s*\] 🏁  Job succeeded", output), job
    for step in (
        "Type check (mypy, strict)",
        "Eval gate",
        "Workflow security (zizmor)",
        "Dockerfile lint (hadolint)",
        "Kubernetes manifests",
        "Build the release bundle",
    ):
        assert f"Success - Main {step}" in output, step
    for printed, report in reports.items():
        assert printed in output
        # The eval report was kept as an artifact (the upload stand-in copies it).
        assert (artifacts / "eval-report" / "eval" / report).is_file(), report


def test_ci_workflow_passes_under_act(repo: Path, tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    result = run_act(repo, "ci.yml", env={"ACT_ARTIFACTS": str(artifacts)})
    _assert_ci_passed(result, artifacts, {"Eval gate PASSED": "summary.md"})


def test_ci_workflow_passes_under_act_for_an_extraction_only_repo(
    rendered: dict[str, Path], tmp_path: Path
) -> None:
    """The same workflow file, on a repo whose only slice is extraction (its own gate and
    report, no corpus): what the workflow calls (`make test`, `make eval`) follows the slices."""
    repo = installed_copy(rendered["extraction-only"], tmp_path / "repo")
    artifacts = tmp_path / "artifacts"
    result = run_act(repo, "ci.yml", env={"ACT_ARTIFACTS": str(artifacts)})
    _assert_ci_passed(result, artifacts, {"Extraction eval gate PASSED": "extraction.md"})


def test_ci_workflow_fails_when_a_test_breaks(repo: Path, tmp_path: Path) -> None:
    """Proves the act run is not vacuous: a failing test must fail the CI test job."""
    broken = tmp_path / "broken"
    shutil.copytree(repo, broken, ignore=shutil.ignore_patterns(".venv"))
    # Collected first (tests/deploy/ sorts first) and `-x`: the job fails within seconds
    # instead of after the rest of the suite; its exit status is what this test is about.
    (broken / "tests" / "deploy" / "test_0_deliberately_broken.py").write_text(
        "def test_deliberately_broken() -> None:\n    assert 1 + 1 == 3\n", encoding="utf-8"
    )
    git_commit_all(broken, "A deliberately broken test")
    result = run_act(broken, "ci.yml", job="test", env={"PYTEST_ADDOPTS": "-x"})
    assert result.returncode != 0, _explain(result)
    assert "test_deliberately_broken" in result.stdout
    assert "Job failed" in result.stdout


def test_deploy_refresh_and_rollback_workflows_under_act(
    repo: Path, deploy_root: dict[str, str]
) -> None:
    result = run_act(repo, "deploy.yml", env=deploy_root)
    assert result.returncode == 0, _explain(result)
    built = re.search(r"Release: `([0-9a-f]{12})`", result.stdout)
    assert built, _explain(result)
    release = built.group(1)
    root = Path(deploy_root["DEPLOY_ROOT"])
    for environment in ("staging", "production"):
        state = json.loads((root / environment / "state.json").read_text())
        assert state["current"] == release, (
            f"{environment} runs {state['current']}, built {release}"
        )
        assert state["history"][-1]["event"] == "deployed"
    assert "Success - Main Eval gate against staging" in result.stdout
    assert "Success - Main Post-deploy smoke test" in result.stdout
    assert "docker action (offline shim)" not in result.stdout, "docker steps must be skipped"

    # The data refresh re-ingests the corpus of the deployed release and smoke tests it.
    refresh = run_act(
        repo,
        "data-refresh.yml",
        "workflow_dispatch",
        env=deploy_root,
        inputs={"environment": "staging"},
    )
    assert refresh.returncode == 0, _explain(refresh)
    assert "staging: index refreshed" in refresh.stdout
    assert "indexed 22 documents" in refresh.stdout

    # A second release reaches staging; the rollback workflow takes staging back to the first.
    build = ["uv", "run", "--locked", "python", "-m", "deploy", "build"]
    second = run([*build, "--setting", "LOG_LEVEL=warning"], repo, env=deploy_root).stdout.strip()
    run(
        ["make", "deploy", "ENV=staging", "BACKEND=local", f"RELEASE={second}"],
        repo,
        env=deploy_root,
    )
    rollback = run_act(
        repo,
        "rollback.yml",
        "workflow_dispatch",
        env=deploy_root,
        inputs={"environment": "staging"},
    )
    assert rollback.returncode == 0, _explain(rollback)
    assert f"staging: rolled back to {release}" in rollback.stdout
    state = json.loads((root / "staging" / "state.json").read_text())
    assert state["current"] == release
    assert [entry["event"] for entry in state["history"]][-3:] == [
        "deployed",
        "deployed",
        "rolled_back",
    ]


def test_rollback_drill_restores_the_good_release(
    repo: Path, figure: Callable[[str], None]
) -> None:
    result = run(["make", "drill"], repo, timeout=600)
    output = result.stdout
    assert "failed its smoke test: /v1/ask answered 503" in output
    figures = re.search(
        r"DRILL PASSED: automatic rollback ([\d.]+) s, runbook rollback ([\d.]+) s", output
    )
    assert figures, output[-4000:]
    # Every runbook block ran, in order.
    assert (
        output.index("$ make status ENV=production BACKEND=local")
        < output.index("$ make rollback ENV=production BACKEND=local")
        < output.index("$ make smoke ENV=production BACKEND=local")
    )
    figure(
        f"[drill] automatic rollback (failed smoke -> good release serving): "
        f"{figures.group(1)} s; runbook rollback: {figures.group(2)} s"
    )
