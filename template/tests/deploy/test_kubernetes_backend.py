"""The Kubernetes deploy backend, against a fake kubectl that logs how it was called: digest
pinning, rollout, rollback, the refresh CronJob."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import SMOKE_KEY

from deploy import kubernetes
from deploy.base import ActivationError, DeployError, Endpoint
from deploy.config import PROJECT
from deploy.kubernetes import KubernetesBackend

# --- Kubernetes backend ---------------------------------------------------------------------------

PLACEHOLDER = f"ghcr.io/acme/{PROJECT}:set-by-deploy-pipeline"
DIGEST = f"ghcr.io/acme/{PROJECT}@sha256:{'ab' * 32}"
NAMESPACE = f"{PROJECT}-production"
DEPLOYMENT = f"deployment/{PROJECT}"

# The fake kubectl: logs every call (stdin of `apply` included), fails when told to, prints the
# overlay for `kustomize`, the serving image for `get`, the next state of a Job for `get job/...`
# and the Job's output for `logs`. It reads its behaviour from a file.
FAKE_KUBECTL = r"""
import json, os, sys

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
call = {"argv": args, "stdin": sys.stdin.read() if "apply" in args else None}
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps(call) + "\n")
with open(os.path.join(here, "behaviour.json")) as file:
    behaviour = json.load(file)
if behaviour["fail_on"] and behaviour["fail_on"] in " ".join(args):
    sys.stderr.write(behaviour["stderr"])
    sys.exit(1)
if args[0] == "kustomize":
    sys.stdout.write(behaviour["manifest"])
elif "get" in args and any(arg.startswith("job/") for arg in args):
    with open(os.path.join(here, "calls.jsonl")) as log:
        polls = sum('"get", "job/' in line for line in log)
    states = behaviour["job_states"]
    sys.stdout.write(states[min(polls, len(states)) - 1])
elif "get" in args:
    sys.stdout.write(behaviour["image"])
elif "logs" in args:
    sys.stdout.write(behaviour["logs"])
"""


def overlay(*images: str, init: str | None = None) -> str:
    """A rendered overlay: a Service, and a Deployment and a CronJob running `images` (the
    Deployment's pods with an init container running `init`, when given)."""
    containers = [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
    pod: dict[str, Any] = {"template": {"spec": {"containers": containers}}}
    if init is not None:
        deployment_pod = {
            "template": {"spec": {"initContainers": [{"name": "migrate", "image": init}]}}
        }
        deployment_pod["template"]["spec"]["containers"] = containers
    else:
        deployment_pod = pod
    return yaml.safe_dump_all(
        [
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": PROJECT}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": PROJECT}}
            | {"spec": deployment_pod},
            {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": f"{PROJECT}-r"}}
            | {"spec": {"jobTemplate": {"spec": pod}}},
        ]
    )


def images_of(manifests: str) -> list[str]:
    images: list[str] = []
    for doc in yaml.safe_load_all(manifests):
        spec = doc.get("spec", {})
        pod = spec.get("jobTemplate", {}).get("spec", spec).get("template", {}).get("spec", {})
        for kind in ("initContainers", "containers"):
            images += [container["image"] for container in pod.get(kind, [])]
    return images


PLACEHOLDER_OVERLAY = overlay(PLACEHOLDER)


@dataclass
class FakeKubectl:
    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / "kubectl"

    def behave(
        self,
        *,
        manifest: str = PLACEHOLDER_OVERLAY,
        image: str = PLACEHOLDER,
        fail_on: str = "",
        stderr: str = "",
        job_states: tuple[str, ...] = ("Complete ",),
        logs: str = "",
    ) -> None:
        behaviour = {
            "manifest": manifest,
            "image": image,
            "fail_on": fail_on,
            "stderr": stderr,
            "job_states": job_states,
            "logs": logs,
        }
        (self.folder / "behaviour.json").write_text(json.dumps(behaviour), encoding="utf-8")

    def calls(self) -> list[dict[str, Any]]:
        log = self.folder / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]

    def backend(self) -> KubernetesBackend:
        return KubernetesBackend("production", kubectl=str(self.path))


@pytest.fixture
def kubectl(tmp_path: Path) -> FakeKubectl:
    fake = FakeKubectl(tmp_path / "bin")
    fake.folder.mkdir()
    fake.path.write_text(f"#!{sys.executable} -IS\n{FAKE_KUBECTL}", encoding="utf-8")
    fake.path.chmod(0o755)
    fake.behave()
    return fake


def test_activate_applies_the_overlay_pinned_to_the_digest(kubectl: FakeKubectl) -> None:
    """Every container of the service runs the digest; the rollout is annotated and awaited."""
    kubectl.backend().activate(DIGEST)

    kustomize, apply, annotate, status = kubectl.calls()
    assert kustomize["argv"][0] == "kustomize"
    assert kustomize["argv"][1].endswith(os.path.join("deploy", "k8s", "overlays", "production"))
    assert apply["argv"] == ["apply", "-n", NAMESPACE, "-f", "-"]
    assert images_of(apply["stdin"]) == [DIGEST, DIGEST]
    assert [doc["kind"] for doc in yaml.safe_load_all(apply["stdin"])] == [
        "Service",
        "Deployment",
        "CronJob",
    ]
    assert annotate["argv"] == [
        "-n",
        NAMESPACE,
        "annotate",
        "--overwrite",
        DEPLOYMENT,
        f"kubernetes.io/change-cause=deploy {DIGEST}",
    ]
    assert status["argv"][:5] == ["-n", NAMESPACE, "rollout", "status", DEPLOYMENT]


def test_activate_pins_only_the_service_image(kubectl: FakeKubectl) -> None:
    """A registry with a port still matches the service image; other images stay as they are."""
    sidecar = "registry.internal:5000/team/otel-collector:0.120"
    kubectl.behave(manifest=overlay(f"registry.internal:5000/team/{PROJECT}:main", sidecar))

    kubectl.backend().activate(DIGEST)

    apply = kubectl.calls()[1]
    assert images_of(apply["stdin"]) == [DIGEST, sidecar, DIGEST, sidecar]


def test_activate_pins_the_migrate_init_container(kubectl: FakeKubectl) -> None:
    """The init container migrates with the release it starts, never with a placeholder."""
    kubectl.behave(manifest=overlay(PLACEHOLDER, init=PLACEHOLDER))

    kubectl.backend().activate(DIGEST)

    apply = kubectl.calls()[1]
    assert images_of(apply["stdin"]) == [DIGEST, DIGEST, DIGEST]
    (deployment,) = [d for d in yaml.safe_load_all(apply["stdin"]) if d["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["initContainers"][0]["image"] == DIGEST


def test_activate_refuses_an_overlay_without_the_service_image(kubectl: FakeKubectl) -> None:
    """Nothing is applied when no container would run the release."""
    kubectl.behave(manifest=overlay("nginx:1.27"))

    with pytest.raises(DeployError, match=f"runs the image {PROJECT}"):
        kubectl.backend().activate(DIGEST)
    assert [call["argv"][0] for call in kubectl.calls()] == ["kustomize"]


@pytest.mark.parametrize("release", [PLACEHOLDER, f"ghcr.io/acme/{PROJECT}:latest", "abc123"])
def test_activate_rejects_a_release_without_a_digest(kubectl: FakeKubectl, release: str) -> None:
    """Only an image pinned by digest is deployable: kubectl is never called otherwise."""
    with pytest.raises(DeployError, match="pinned by digest"):
        kubectl.backend().activate(release)
    assert kubectl.calls() == []


@pytest.mark.parametrize(
    ("to", "undo"),
    [
        pytest.param(None, ["-n", NAMESPACE, "rollout", "undo", DEPLOYMENT], id="previous"),
        pytest.param(
            "3",
            ["-n", NAMESPACE, "rollout", "undo", DEPLOYMENT, "--to-revision=3"],
            id="revision",
        ),
    ],
)
def test_rollback_undoes_the_rollout(kubectl: FakeKubectl, to: str | None, undo: list[str]) -> None:
    """A rollback is `rollout undo`, awaited, and reports the image serving afterwards."""
    kubectl.behave(image=DIGEST)

    assert kubectl.backend().rollback(to) == DIGEST

    argvs = [call["argv"] for call in kubectl.calls()]
    assert argvs[0] == undo
    assert argvs[1][:5] == ["-n", NAMESPACE, "rollout", "status", DEPLOYMENT]


def test_rollback_rejects_a_revision_that_is_not_a_number(kubectl: FakeKubectl) -> None:
    with pytest.raises(DeployError, match="revision number"):
        kubectl.backend().rollback("abc")
    assert kubectl.calls() == []


SUMMARY = "snapshot abc123: indexed 22 documents, ...; now current (was 0ld000)\n"


def test_kubernetes_refresh_runs_the_cronjob_now(
    kubectl: FakeKubectl, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Job from the CronJob, polled until complete; its output (the summary) is shown."""
    monkeypatch.setattr(kubernetes, "REFRESH_POLL_SECONDS", 0.0)
    kubectl.behave(job_states=("", "", "Complete "), logs=SUMMARY)

    kubectl.backend().refresh()

    argvs = [call["argv"] for call in kubectl.calls()]
    create, *polls, logs = argvs
    assert create[:5] == ["-n", NAMESPACE, "create", "job", create[4]]
    assert create[5] == f"--from=cronjob/{PROJECT}-refresh"
    job = create[4]
    assert len(job) <= 63
    assert len(polls) == 3
    assert all(poll[:4] == ["-n", NAMESPACE, "get", f"job/{job}"] for poll in polls)
    assert logs[:4] == ["-n", NAMESPACE, "logs", f"job/{job}"]
    assert "snapshot abc123: indexed 22 documents" in capsys.readouterr().out


def test_a_failed_kubernetes_refresh_says_the_snapshot_stays(
    kubectl: FakeKubectl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rejected corpus fails the Job: the error keeps its reason, nothing else changes."""
    monkeypatch.setattr(kubernetes, "REFRESH_POLL_SECONDS", 0.0)
    reason = "ingest failed, current snapshot unchanged: 24 of 24 documents quarantined\n"
    kubectl.behave(job_states=("", "Failed "), logs=reason)

    with pytest.raises(DeployError, match="keep serving the previous snapshot") as caught:
        kubectl.backend().refresh()
    assert "24 of 24 documents quarantined" in str(caught.value)


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({}, id="neither"),
        pytest.param({"SERVICE_URL": "https://staging.example.com"}, id="url-only"),
        pytest.param({"SMOKE_API_KEY": SMOKE_KEY}, id="key-only"),
    ],
)
def test_kubernetes_endpoint_needs_url_and_key(
    monkeypatch: pytest.MonkeyPatch, settings: dict[str, str]
) -> None:
    """Smoke tests and evals need both variables; the error names both."""
    for name, value in settings.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(DeployError, match="SERVICE_URL") as caught:
        KubernetesBackend("staging").endpoint()
    assert "SMOKE_API_KEY" in str(caught.value)

    monkeypatch.setenv("SERVICE_URL", "https://staging.example.com")
    monkeypatch.setenv("SMOKE_API_KEY", SMOKE_KEY)
    assert KubernetesBackend("staging").endpoint() == Endpoint(
        "https://staging.example.com", SMOKE_KEY
    )


def test_a_failing_kubectl_surfaces_its_stderr(kubectl: FakeKubectl) -> None:
    """kubectl's own error reaches the operator, with the command that failed."""
    kubectl.behave(fail_on="apply", stderr=f'namespaces "{NAMESPACE}" not found\n')

    with pytest.raises(DeployError, match=f'apply -n {NAMESPACE} -f - failed:\nnamespaces "'):
        kubectl.backend().activate(DIGEST)


def test_a_missing_kubectl_is_a_deploy_error(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="not found: install kubectl or set KUBECTL"):
        KubernetesBackend("staging", kubectl=str(tmp_path / "no-kubectl")).activate(DIGEST)


def test_a_rollout_that_never_becomes_ready_is_an_activation_error(kubectl: FakeKubectl) -> None:
    """A failed `rollout status` means the new release is not healthy: an ActivationError."""
    kubectl.behave(fail_on="rollout status", stderr="error: exceeded its progress deadline\n")

    with pytest.raises(ActivationError, match="exceeded its progress deadline"):
        kubectl.backend().activate(DIGEST)
