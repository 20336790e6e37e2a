"""Deploy with automatic rollback, against a fake backend: a release that fails its smoke test
is rolled back; manual rollbacks are smoke tested and recorded."""

from __future__ import annotations

import pytest
from support import SMOKE_KEY

from deploy import rollout
from deploy.base import ActivationError, DeployError, Endpoint, SmokeTestError

# --- deploy with automatic rollback ---------------------------------------------------------------


class FakeBackend:
    """In memory: what serves, what served before, and the calls that matter."""

    name = "fake"

    def __init__(self, *served: str, switches: bool = True) -> None:
        self.served = list(served)
        self.serving: str | None = served[-1] if served else None
        self.switches = switches  # False: activation fails before the switch
        self.events: list[tuple[str, str]] = []
        self.rollbacks: list[str | None] = []

    def current(self) -> str | None:
        return self.serving

    def activate(self, release: str) -> None:
        if not self.switches:
            raise ActivationError(f"image of {release} could not be pulled")
        self.serving = release
        self.served.append(release)

    def rollback(self, to: str | None = None) -> str:
        self.rollbacks.append(to)
        target = to or next(r for r in reversed(self.served) if r != self.serving)
        self.serving = target
        self.served.append(target)
        return target

    def endpoint(self) -> Endpoint:
        return Endpoint(f"http://fake.invalid/{self.serving}", SMOKE_KEY)

    def record(self, release: str, event: str, detail: str = "") -> None:
        self.events.append((release, event))

    def status(self) -> str:
        return f"serving {self.serving}"

    def refresh(self) -> None:
        """Nothing to refresh in memory."""


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Releases whose smoke test fails; every other release passes it in 0.25 s."""
    failing: set[str] = set()

    def fake_smoke_test(endpoint: Endpoint) -> float:
        release = endpoint.url.rpartition("/")[2]
        if release in failing:
            raise SmokeTestError(f"/v1/ask answered 503 (provider_unavailable) on {release}\nmore")
        return 0.25

    monkeypatch.setattr(rollout, "smoke_test", fake_smoke_test)
    return failing


def test_a_healthy_release_is_deployed(broken: set[str]) -> None:
    """A release that passes its smoke test serves and is recorded as deployed."""
    backend = FakeBackend("aaa")

    result = rollout.deploy(backend, "bbb")

    assert result == rollout.Deployed("bbb", "aaa", 0.25)
    assert backend.serving == "bbb"
    assert backend.events == [("bbb", "deployed")]
    assert backend.rollbacks == []


def test_a_release_failing_its_smoke_test_is_rolled_back(broken: set[str]) -> None:
    """After the switch, a failed smoke test restores the previous release and still fails."""
    backend = FakeBackend("aaa")
    broken.add("bbb")

    with pytest.raises(rollout.RolledBackError) as caught:
        rollout.deploy(backend, "bbb")

    assert (caught.value.failed, caught.value.restored) == ("bbb", "aaa")
    assert caught.value.reason == "/v1/ask answered 503 (provider_unavailable) on bbb"
    assert 0 <= caught.value.seconds < 5
    assert backend.serving == "aaa"
    assert backend.rollbacks == [None]
    assert backend.events == [("bbb", "failed"), ("aaa", "rolled_back")]


@pytest.mark.parametrize(
    "served", [pytest.param((), id="first-release"), pytest.param(("bbb",), id="same-release")]
)
def test_nothing_to_roll_back_to_is_a_plain_failure(
    broken: set[str], served: tuple[str, ...]
) -> None:
    """Without an earlier release the deploy fails as is: no rollback is attempted."""
    backend = FakeBackend(*served)
    broken.add("bbb")

    with pytest.raises(DeployError, match="no earlier release") as caught:
        rollout.deploy(backend, "bbb")

    assert not isinstance(caught.value, rollout.RolledBackError)
    assert backend.rollbacks == []
    assert backend.events == [("bbb", "failed")]


def test_a_release_failing_before_the_switch_is_not_rolled_back(broken: set[str]) -> None:
    """When activation fails and the previous release still serves, nothing is switched back."""
    backend = FakeBackend("aaa", switches=False)

    with pytest.raises(DeployError, match="before the switch; aaa still serves") as caught:
        rollout.deploy(backend, "bbb")

    assert not isinstance(caught.value, rollout.RolledBackError)
    assert backend.serving == "aaa"
    assert backend.rollbacks == []
    assert backend.events == [("bbb", "failed")]


def test_a_restored_release_failing_its_smoke_test_propagates(broken: set[str]) -> None:
    """A rollback is only reported when the restored release really serves again."""
    backend = FakeBackend("aaa")
    broken.update({"aaa", "bbb"})

    with pytest.raises(SmokeTestError, match="on aaa"):
        rollout.deploy(backend, "bbb")

    assert backend.rollbacks == [None]
    assert backend.events == [("bbb", "failed")]


def test_manual_rollback_is_smoke_tested_and_recorded(broken: set[str]) -> None:
    """`make rollback` switches to the given release, smoke tests it and records it."""
    backend = FakeBackend("aaa", "bbb", "ccc")

    restored, seconds = rollout.rollback(backend, "aaa")

    assert restored == "aaa"
    assert 0 <= seconds < 5
    assert backend.rollbacks == ["aaa"]
    assert backend.events == [("aaa", "rolled_back")]

    broken.add("bbb")
    with pytest.raises(SmokeTestError, match="on bbb"):
        rollout.rollback(backend, "bbb")
    assert backend.events == [("aaa", "rolled_back")]
