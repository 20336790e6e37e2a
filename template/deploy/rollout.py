"""Deploy with a smoke test, and roll back automatically when the new release is not healthy.

Backend-agnostic: the same steps run on Kubernetes and on the local backend, in the deploy
workflow, from `make deploy` and in the rollback drill.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .base import Backend, DeployError
from .smoke import smoke_test


class RolledBackError(DeployError):
    """The release failed and the previous one was restored (the run must still fail)."""

    def __init__(self, failed: str, restored: str, reason: str, seconds: float) -> None:
        self.failed, self.restored, self.reason, self.seconds = failed, restored, reason, seconds
        super().__init__(
            f"release {failed} failed ({reason}); rolled back automatically to {restored}, "
            f"serving again {seconds:.1f} s after the failure"
        )


@dataclass(frozen=True)
class Deployed:
    release: str
    previous: str | None
    smoke_seconds: float


def deploy(backend: Backend, release: str) -> Deployed:
    """Activate `release`, smoke test it; on failure restore the previous release and raise."""
    previous = backend.current()
    try:
        backend.activate(release)
        smoke_seconds = smoke_test(backend.endpoint())
    except DeployError as error:
        failed_at = time.monotonic()
        cause = str(error).splitlines()[0]
        backend.record(release, "failed", cause)
        if previous is None or previous == release:
            raise DeployError(
                f"release {release} failed and there is no earlier release to roll back to: {error}"
            ) from error
        if backend.current() == previous:
            raise DeployError(
                f"release {release} failed before the switch; {previous} still serves: {error}"
            ) from error
        restored, seconds = rollback(
            backend, started=failed_at, reason=f"automatic after {release} failed"
        )
        raise RolledBackError(release, restored, cause, seconds) from error
    backend.record(release, "deployed", f"smoke test passed in {smoke_seconds:.2f} s")
    return Deployed(release, previous, smoke_seconds)


def rollback(
    backend: Backend,
    to: str | None = None,
    *,
    started: float | None = None,
    reason: str = "manual",
) -> tuple[str, float]:
    """Switch back, smoke test the restored release (it must really serve again) and record it.

    Returns (release, seconds since `started`, default now). The automatic rollback in `deploy`
    passes the moment the new release failed, so the figure is failure-to-restored.
    """
    started = time.monotonic() if started is None else started
    restored = backend.rollback(to)
    smoke_test(backend.endpoint())
    seconds = time.monotonic() - started
    backend.record(restored, "rolled_back", f"{reason}, serving again after {seconds:.1f} s")
    return restored, seconds
