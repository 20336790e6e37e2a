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
        backend.record(release, "failed", str(error).splitlines()[0])
        if previous is None or previous == release:
            raise DeployError(
                f"release {release} failed and there is no earlier release to roll back to: {error}"
            ) from error
        if backend.current() == previous:
            raise DeployError(
                f"release {release} failed before the switch; {previous} still serves: {error}"
            ) from error
        restored = backend.rollback()
        smoke_test(backend.endpoint())  # the restored release must really serve again
        seconds = time.monotonic() - failed_at
        backend.record(
            restored, "rolled_back", f"automatic, {seconds:.1f} s after {release} failed"
        )
        raise RolledBackError(release, restored, str(error).splitlines()[0], seconds) from error
    backend.record(release, "deployed", f"smoke test passed in {smoke_seconds:.2f} s")
    return Deployed(release, previous, smoke_seconds)


def rollback(backend: Backend, to: str | None = None) -> tuple[str, float]:
    """Manual rollback (runbook): switch back, smoke test, return (release, seconds taken)."""
    started = time.monotonic()
    restored = backend.rollback(to)
    smoke_test(backend.endpoint())
    seconds = time.monotonic() - started
    backend.record(restored, "rolled_back", f"manual, serving again after {seconds:.1f} s")
    return restored, seconds
