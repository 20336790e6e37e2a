"""The air gap, proven: in a network namespace with only loopback, a fresh render installs from
the warm uv cache alone, passes `make check`, serves, and its UIs (`/docs`, `/dashboard`) render
in headless Chromium with nothing fetched from elsewhere. Screenshots go to build/artifacts/.

Needs root (or unprivileged user namespaces) for `unshare -n`; skipped with the reason where the
kernel forbids it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .helpers import PROFILES, ROOT, installed_copy, no_network_prefix, project_env

pytestmark = [pytest.mark.generated, pytest.mark.e2e]

ARTIFACTS = ROOT / "build" / "artifacts"


@pytest.fixture(scope="module")
def offline_run(
    rendered: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    prefix = no_network_prefix()
    # A developer's machine has installed the template's dependencies before: warm the cache.
    assert "default" in PROFILES
    installed_copy(rendered["default"], tmp_path_factory.mktemp("warm") / "repo")
    workdir = tmp_path_factory.mktemp("air-gap")
    result = subprocess.run(
        [*prefix, sys.executable, "-m", "tests.air_gap_driver", str(workdir), str(ARTIFACTS)],
        cwd=ROOT,
        env=project_env(),
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return summary


def test_the_sandbox_really_has_no_network(offline_run: dict[str, Any]) -> None:
    assert offline_run["network_reachable"] is False


def test_a_fresh_render_installs_and_passes_make_check_offline(
    offline_run: dict[str, Any],
) -> None:
    check = offline_run["check"]
    assert check["returncode"] == 0, check["tail"]
    assert check["eval_passed"], check["tail"]
    assert offline_run["answer"]["outcome"] == "answered"


def test_the_api_docs_render_their_operations_offline(offline_run: dict[str, Any]) -> None:
    dom = offline_run["docs_dom"]
    operations = set(re.findall(r'data-path="(/[^"]*)"', dom))
    assert {"/v1/ask", "/v1/feedback"} <= operations, dom[-2000:]
    assert (ARTIFACTS / "offline-docs.png").stat().st_size > 10_000


def test_the_dashboard_renders_its_figures_offline(offline_run: dict[str, Any]) -> None:
    tiles = dict(
        re.findall(r'data-metric="([a-z_0-9]+)"[^>]*>\s*([^<]*)<', offline_run["dashboard_dom"])
    )
    requests = [v for name, v in tiles.items() if "request" in name and re.search(r"[1-9]", v)]
    assert requests, f"request figures not rendered: {tiles}"
    assert (ARTIFACTS / "offline-dashboard.png").stat().st_size > 10_000
