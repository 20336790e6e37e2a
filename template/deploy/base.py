"""What every backend offers, and the errors the release commands report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class DeployError(Exception):
    """A release command failed; the message says what to do next."""


class ActivationError(DeployError):
    """The new release never became healthy."""


class SmokeTestError(DeployError):
    """The service answered, but not the way a healthy release must."""


@dataclass(frozen=True)
class Endpoint:
    """Where a deployed environment serves, and a key the smoke test and evals may use."""

    url: str
    api_key: str


class Backend(Protocol):
    """A place releases run. Implementations: `local.LocalBackend`, `kubernetes.KubernetesBackend`."""

    name: str

    def current(self) -> str | None:
        """The release serving now, or None before the first deploy."""

    def activate(self, release: str) -> None:
        """Switch to `release` and wait until it is ready; raise ActivationError if it never is."""

    def rollback(self, to: str | None = None) -> str:
        """Switch back to `to` (default: the previous healthy release); return what serves now."""

    def endpoint(self) -> Endpoint:
        """URL and API key of the environment."""

    def record(self, release: str, event: str, detail: str = "") -> None:
        """Remember a deploy event (deployed, failed, rolled_back) for status and rollback."""

    def status(self) -> str:
        """Human-readable: what serves now and the recent history."""

    def refresh(self) -> None:
        """Re-ingest the governed corpus and publish a new index snapshot."""
