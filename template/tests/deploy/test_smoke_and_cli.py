"""The smoke test against a tiny HTTP server on 127.0.0.1, and `python -m deploy`."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from fake_service import ANSWERED, FakeService
from support import RELEASE_ID, SMOKE_KEY

from deploy.__main__ import main
from deploy.base import Endpoint, SmokeTestError
from deploy.config import DEFAULT_SMOKE_QUESTION
from deploy.smoke import smoke_test

# --- smoke test -----------------------------------------------------------------------------------


def test_smoke_passes_on_an_answer_with_citations(service: FakeService) -> None:
    """Ready, and the smoke question answered with citations, asked with the endpoint's key."""
    seconds = smoke_test(Endpoint(service.url, SMOKE_KEY))

    assert 0 <= seconds < 5
    assert service.keys == [SMOKE_KEY]
    assert service.questions == [DEFAULT_SMOKE_QUESTION]


def test_smoke_question_can_be_overridden(
    service: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMOKE_QUESTION", "Who approves travel?")

    smoke_test(Endpoint(service.url, SMOKE_KEY))

    assert service.questions == ["Who approves travel?"]


@pytest.mark.parametrize(
    ("ready", "ask", "message"),
    [
        pytest.param(
            (503, {"status": "not ready", "checks": {"index": "missing"}}),
            (200, ANSWERED),
            r"/readyz answered 503: \{'index': 'missing'\}",
            id="not-ready",
        ),
        pytest.param(
            (200, {}),
            (503, {"code": "provider_unavailable", "detail": "the model provider is down"}),
            r"/v1/ask answered 503 \(provider_unavailable\)",
            id="ask-unavailable",
        ),
        pytest.param(
            (200, {}),
            (200, {"outcome": "abstained", "citations": [{"doc_id": "HR-LEAVE-002"}]}),
            "outcome='abstained'",
            id="abstained",
        ),
        pytest.param(
            (200, {}),
            (200, {"outcome": "answered", "citations": []}),
            "did not answer .* with citations",
            id="no-citations",
        ),
        pytest.param(
            (200, {}), (200, b"<html>maintenance</html>"), "no usable response", id="not-json"
        ),
        pytest.param((200, {}), (200, ["answered"]), "not an object", id="not-an-object"),
    ],
)
def test_smoke_fails_unless_the_release_really_serves(
    service: FakeService, ready: tuple[int, Any], ask: tuple[int, Any], message: str
) -> None:
    """Every unhealthy answer is a SmokeTestError, which is what triggers a rollback."""
    service.ready, service.ask = ready, ask

    with pytest.raises(SmokeTestError, match=message):
        smoke_test(Endpoint(service.url, SMOKE_KEY))


def test_smoke_fails_on_a_truncated_response(service: FakeService) -> None:
    """A reply cut short (the service died mid-answer) fails the smoke test, not the deploy tool."""
    service.truncated = True

    with pytest.raises(SmokeTestError, match="no usable response"):
        smoke_test(Endpoint(service.url, SMOKE_KEY))


def test_smoke_fails_when_nothing_listens() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connections are refused

    with pytest.raises(SmokeTestError, match="no usable response"):
        smoke_test(Endpoint(f"http://127.0.0.1:{port}", SMOKE_KEY))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com", "127.0.0.1:8100"])
def test_smoke_rejects_a_url_that_is_not_http(url: str) -> None:
    with pytest.raises(SmokeTestError, match=r"not an http\(s\) URL"):
        smoke_test(Endpoint(url, SMOKE_KEY))


# --- python -m deploy -----------------------------------------------------------------------------


def test_cli_without_env_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["status"])

    assert caught.value.code == 2
    assert "--env" in capsys.readouterr().err


def test_cli_kubernetes_deploy_needs_a_release(capsys: pytest.CaptureFixture[str]) -> None:
    """Kubernetes deploys only an image pinned by digest: no default, a clear message."""
    assert main(["deploy", "--env", "staging", "--backend", "kubernetes"]) == 1
    error = capsys.readouterr().err
    assert "--release is required: an image reference pinned by digest" in error


def test_cli_build_prints_the_release_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make release` builds this checkout into DEPLOY_ROOT/bundles and prints the id."""
    monkeypatch.setenv("DEPLOY_ROOT", str(tmp_path))

    assert main(["build"]) == 0
    release = capsys.readouterr().out.strip()
    assert RELEASE_ID.match(release)
    assert (tmp_path / "bundles" / f"{release}.tar.gz").is_file()

    assert main(["build", "--setting", "LOG_LEVEL=warning"]) == 0
    assert capsys.readouterr().out.strip() not in {release, ""}

    assert main(["build", "--setting", "LOG_LEVEL"]) == 1
    assert "--setting takes KEY=VALUE" in capsys.readouterr().err
