"""Kubernetes backend: the kustomize overlay of the environment, with the image pinned by digest.

`activate` renders `deploy/k8s/overlays/<env>` with `kubectl kustomize`, sets the image of every
container to the release (an image reference with a digest, built once by the deploy workflow),
applies it and waits for `kubectl rollout status`. The new pods' `migrate` init container runs the
release's migrations before they take traffic; if it fails, the rollout never completes and the
old pods keep serving. `rollback` is `kubectl rollout undo`, which restores the previous
ReplicaSet, i.e. the previous image and settings (migrations are additive, so it runs on the
newer schema). `refresh` runs the data-refresh CronJob now, as a Job, and waits for it.

The cluster credentials come from the caller's KUBECONFIG. The smoke test and evals reach the
service through SERVICE_URL with the key in SMOKE_API_KEY (set per GitHub environment).
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

import yaml

from .base import ActivationError, DeployError, Endpoint
from .config import PROJECT, REPO_ROOT, Environment

ROLLOUT_TIMEOUT = "300s"
REFRESH_TIMEOUT_SECONDS = 1800.0  # the CronJob's activeDeadlineSeconds
REFRESH_POLL_SECONDS = 5.0


class KubernetesBackend:
    name = "kubernetes"

    def __init__(self, environment: Environment, kubectl: str | None = None) -> None:
        self.environment = environment
        self.kubectl = kubectl or os.environ.get("KUBECTL", "kubectl")
        self.namespace = f"{PROJECT}-{environment}"
        self.overlay = REPO_ROOT / "deploy" / "k8s" / "overlays" / environment
        self.deployment = f"deployment/{PROJECT}"

    def _run(self, *args: str, stdin: str | None = None) -> str:
        command = [self.kubectl, *args]
        print("+", " ".join(command), flush=True)
        try:
            result = subprocess.run(
                command, input=stdin, capture_output=True, text=True, check=False
            )
        except FileNotFoundError as error:
            raise DeployError(
                f"{self.kubectl} not found: install kubectl or set KUBECTL"
            ) from error
        if result.returncode != 0:
            raise DeployError(f"{' '.join(command)} failed:\n{result.stderr.strip()}")
        return result.stdout

    def manifests(self, image: str) -> str:
        """The overlay with every container of this service running `image`."""
        documents = [
            doc for doc in yaml.safe_load_all(self._run("kustomize", str(self.overlay))) if doc
        ]
        pinned = 0
        for doc in documents:
            for container in _containers(doc):
                if _repository(container.get("image", "")).endswith(PROJECT):
                    container["image"] = image
                    pinned += 1
        if not pinned:
            raise DeployError(f"no container in {self.overlay} runs the image {PROJECT}")
        return yaml.safe_dump_all(documents, sort_keys=False)

    def current(self) -> str | None:
        try:
            image = self._run(
                "-n",
                self.namespace,
                "get",
                self.deployment,
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}",
            )
        except DeployError:
            return None
        return image.strip() or None

    def activate(self, release: str) -> None:
        if "@sha256:" not in release:
            raise DeployError(
                f"kubernetes releases are image references pinned by digest "
                f"(<registry>/<name>@sha256:...), got {release!r}"
            )
        self._run("apply", "-n", self.namespace, "-f", "-", stdin=self.manifests(release))
        self._run(
            "-n",
            self.namespace,
            "annotate",
            "--overwrite",
            self.deployment,
            f"kubernetes.io/change-cause=deploy {release}",
        )
        try:
            self._run(
                "-n",
                self.namespace,
                "rollout",
                "status",
                self.deployment,
                "--timeout",
                ROLLOUT_TIMEOUT,
            )
        except DeployError as error:
            raise ActivationError(str(error)) from error

    def rollback(self, to: str | None = None) -> str:
        """Undo to the previous revision, or to revision `to` (see `kubectl rollout history`)."""
        args = ["-n", self.namespace, "rollout", "undo", self.deployment]
        if to:
            if not to.isdigit():
                raise DeployError(
                    f"kubernetes rollbacks target a revision number from `make status`, got {to!r}"
                )
            args.append(f"--to-revision={to}")
        self._run(*args)
        self._run(
            "-n", self.namespace, "rollout", "status", self.deployment, "--timeout", ROLLOUT_TIMEOUT
        )
        return self.current() or "unknown"

    def endpoint(self) -> Endpoint:
        url, key = os.environ.get("SERVICE_URL"), os.environ.get("SMOKE_API_KEY")
        if not url or not key:
            raise DeployError(
                "set SERVICE_URL (how the deploy job reaches the service) and SMOKE_API_KEY "
                f"(one of the API_KEYS of {self.namespace}) for smoke tests and evals"
            )
        return Endpoint(url, key)

    def record(self, release: str, event: str, detail: str = "") -> None:
        # The cluster keeps the history (`kubectl rollout history`, change-cause annotations).
        print(f"{self.environment}: {event} {release} {detail}".rstrip(), flush=True)

    def status(self) -> str:
        return "\n".join(
            [
                f"environment: {self.environment} (kubernetes, namespace {self.namespace})",
                f"serving:     {self.current() or 'nothing deployed yet'}",
                self._run("-n", self.namespace, "rollout", "history", self.deployment).strip(),
            ]
        )

    def refresh(self) -> None:
        """Run the data-refresh CronJob now, as a Job, and wait until it succeeds or fails.

        The Job publishes a new snapshot to the shared database; every replica serves it within
        60 s, no restart. A rejected corpus fails the Job and leaves the served snapshot as it was.
        """
        suffix = f"-refresh-{int(time.time())}"
        job = PROJECT[: 63 - len(suffix)].rstrip("-") + suffix  # names are at most 63 characters
        self._run("-n", self.namespace, "create", "job", job, f"--from=cronjob/{PROJECT}-refresh")
        deadline = time.monotonic() + REFRESH_TIMEOUT_SECONDS
        while True:
            state = self._job_state(job)
            if state == "Complete":
                print(self._job_logs(job).strip(), flush=True)
                return
            if state == "Failed":
                raise DeployError(
                    f"the refresh job {job} failed; the replicas keep serving the previous "
                    f"snapshot. Its output:\n{self._job_logs(job).strip()}"
                )
            if time.monotonic() > deadline:
                raise DeployError(f"the refresh job {job} did not finish in time")
            time.sleep(REFRESH_POLL_SECONDS)

    def _job_state(self, job: str) -> str:
        """`Complete`, `Failed`, or empty while the Job runs."""
        conditions = self._run(
            "-n",
            self.namespace,
            "get",
            f"job/{job}",
            "-o",
            'jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}',
        ).split()
        for state in ("Failed", "Complete"):
            if state in conditions:
                return state
        return ""

    def _job_logs(self, job: str) -> str:
        try:
            return self._run("-n", self.namespace, "logs", f"job/{job}", "--tail=100")
        except DeployError as error:  # the pod may be gone already; the Job's result stands
            return f"(no logs: {error})"


def _repository(image: str) -> str:
    """`registry:5000/team/name:tag@sha256:...` -> `registry:5000/team/name` (a port is no tag)."""
    name = image.split("@")[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    return name[:colon] if colon > slash else name


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Containers of a Deployment or a CronJob (the kinds in deploy/k8s/base), init containers
    included: the `migrate` init container must run the release it migrates for."""
    kind = doc.get("kind")
    if kind == "Deployment":
        spec = doc["spec"]["template"]["spec"]
    elif kind == "CronJob":
        spec = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    else:
        return []
    containers: list[dict[str, Any]] = spec.get("initContainers", []) + spec.get("containers", [])
    return containers
