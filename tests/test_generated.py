"""Install each rendered profile from its lock and run its own checks, exactly as its CI would.

Slow (an install and a full test run per profile), so marked `generated`: `make test-fast` skips it.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from .helpers import PROFILES, free_port, installed_copy, make_run, run

pytestmark = pytest.mark.generated


@pytest.fixture(scope="module", params=list(PROFILES))
def installed(
    request: pytest.FixtureRequest,
    rendered: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A working copy of the rendered profile (the session's renders stay pristine), installed."""
    return installed_copy(
        rendered[request.param], tmp_path_factory.mktemp(f"installed-{request.param}") / "repo"
    )


def test_formatter_changes_nothing(installed: Path) -> None:
    run(["uv", "run", "--locked", "ruff", "format", "--check", "--diff", "."], installed)


def test_lint_is_clean(installed: Path) -> None:
    run(["make", "lint"], installed)


def test_type_check_is_clean(installed: Path) -> None:
    run(["make", "typecheck"], installed)


def test_own_test_suite_passes(installed: Path) -> None:
    result = run(["make", "test"], installed)
    assert " passed" in result.stdout and " failed" not in result.stdout


def test_eval_gate_passes_and_reports(installed: Path) -> None:
    result = run(["make", "eval"], installed)
    assert "Eval gate PASSED" in result.stdout
    assert (installed / "var" / "eval" / "summary.md").is_file()


def test_degraded_build_fails_the_eval_gate_naming_the_metric(installed: Path) -> None:
    """Retrieval that abstains on nearly everything must not get through the gate."""
    result = run(["make", "eval"], installed, check=False, env={"ABSTAIN_THRESHOLD": "0.99"})
    assert result.returncode != 0
    assert "Eval gate FAILED" in result.stdout
    assert "citation_hit_rate" in result.stdout
    assert "is below the threshold" in result.stdout


def test_pre_commit_hooks_pass_on_all_files(installed: Path) -> None:
    run(["make", "pre-commit"], installed)
    assert run(["git", "status", "--porcelain"], installed).stdout == "", "hooks changed files"


def test_ingest_and_help_targets_work(installed: Path) -> None:
    assert "ingest" in run(["make", "help"], installed).stdout
    output = run(["make", "ingest"], installed).stdout
    assert "indexed 22 documents" in output and "quarantined 0" in output


def test_make_run_serves_and_answers(installed: Path) -> None:
    port = free_port()
    with make_run(installed, port):
        key = next(
            line.split("=", 1)[1]
            for line in (installed / ".env").read_text().splitlines()
            if line.startswith("API_KEYS=")
        )
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/ask",
            data=b'{"question": "How much is the home office allowance?"}',
            headers={"Content-Type": "application/json", "X-API-Key": key},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read().decode()
    assert '"outcome":"answered"' in body and "HR-WORK-001" in body


def test_delivery_checks_pass(installed: Path) -> None:
    """zizmor finds nothing in any workflow; hadolint and the manifest validation pass."""
    zizmor = run(["make", "lint-workflows"], installed)
    assert "No findings to report" in zizmor.stdout + zizmor.stderr
    run(["make", "lint-docker"], installed)
    manifests = run(["make", "manifests"], installed)
    report = manifests.stdout + manifests.stderr
    for environment in ("staging", "production"):
        assert f"var/manifests/{environment}.yaml passed for resource deployment/" in report
