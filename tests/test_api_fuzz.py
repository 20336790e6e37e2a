"""Schemathesis against a rendered service's live OpenAPI document, with the API key.

Every operation gets generated requests, valid and invalid, and every check schemathesis has
(no server error, documented status codes, content types and headers, response schemas,
invalid data rejected, valid data accepted, ...). The service's promise is that its OpenAPI
document tells the truth: no 500, and no status, body or limit the document does not state.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import free_port, installed_copy, make_run

pytestmark = [pytest.mark.generated, pytest.mark.e2e]

KEY = "schemathesis-only-key-0f4c2a9e71b35d8c6a0e"  # pragma: allowlist secret
MIN_CASES = 1_000
# Examples per operation and phase: 200 gives about 2,000 cases over the 5 operations, with the
# stateful phase following the OpenAPI link from /v1/ask to /v1/feedback.
MAX_EXAMPLES = 200
SEED = 20261201  # fixed, so a failure reproduces; change it to explore new inputs


def test_generated_requests_find_no_server_error_and_no_schema_violation(
    rendered: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    figure: Callable[[str], None],
) -> None:
    repo = installed_copy(rendered["default"], tmp_path_factory.mktemp("fuzz") / "repo")
    port = free_port()
    log = repo / "schemathesis.log"
    with make_run(repo, port, {"API_KEYS": KEY}), log.open("w") as out:
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "--checks",
                "all",
                "--header",
                f"X-API-Key: {KEY}",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--workers",
                "2",
            ],
            cwd=repo,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
            check=False,
        )
    output = log.read_text(encoding="utf-8")
    assert result.returncode == 0, output[-8000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated is not None, output[-4000:]
    cases, passed = int(generated[1]), int(generated[2])
    assert cases == passed >= MIN_CASES, output[-4000:]
    tested = re.search(r"Tested: (\d+)", output)
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    assert tested and selected and int(tested[1]) == int(selected[2]), "every operation tested"
    figure(f"[fuzz] schemathesis: {cases} cases over {tested[1]} operations, all checks, 0 issues")
