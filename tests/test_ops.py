"""Observability as code in every rendered profile: the Prometheus rules load and pass their unit
tests with the real promtool, and the committed Grafana dashboards are what the generator builds.

The rules, their tests and the alert annotations are templated (owner, on-call, KPI target), so
each profile is checked. promtool comes from Debian's `prometheus` package (installed by .ci/run);
it is required here, never skipped: the generated repo's own test skips it when it is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .helpers import PROFILES, run

pytestmark = pytest.mark.generated


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not on PATH: .ci/run must install it "
            "(`apt-get update && apt-get install -y prometheus`, which gives /usr/bin/promtool)"
        )
    return path


@pytest.mark.parametrize("profile", list(PROFILES))
def test_prometheus_rules_are_valid(profile: str, rendered: dict[str, Path], promtool: str) -> None:
    output = run([promtool, "check", "rules", "ops/prometheus/rules.yml"], rendered[profile])
    assert "SUCCESS" in output.stdout + output.stderr


@pytest.mark.parametrize("profile", list(PROFILES))
def test_prometheus_rule_unit_tests_pass(
    profile: str, rendered: dict[str, Path], promtool: str
) -> None:
    output = run([promtool, "test", "rules", "ops/prometheus/rules.test.yml"], rendered[profile])
    assert "SUCCESS" in output.stdout + output.stderr


@pytest.mark.parametrize("profile", list(PROFILES))
def test_committed_dashboards_match_the_generator(profile: str, rendered: dict[str, Path]) -> None:
    run(["python3", "ops/grafana/generate.py", "--check"], rendered[profile])


@pytest.mark.parametrize("profile", list(PROFILES))
def test_rendered_ops_files_name_the_service_and_its_owners(
    profile: str, rendered: dict[str, Path]
) -> None:
    answers = {"project_name": "policy-assistant", "owning_team": "@acme/ai-platform"}
    answers |= {k: v for k, v in PROFILES[profile].items() if k in answers}
    repo = rendered[profile]
    rules = (repo / "ops/prometheus/rules.yml").read_text(encoding="utf-8")
    assert f'service: "{answers["project_name"]}"' in rules
    assert f'owner: "{answers["owning_team"]}"' in rules
    compose = repo / "ops/observability/compose.yaml"
    if PROFILES[profile].get("local_observability_stack", True):
        assert "{{" not in compose.read_text(encoding="utf-8")
        assert (
            "docker compose -f ops/observability/compose.yaml"
            in (repo / "ops/README.md").read_text()
        )
    else:
        assert not (repo / "ops/observability").exists()
        assert "observability/" not in (repo / "ops/README.md").read_text()
