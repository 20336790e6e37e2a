"""Package names that sort before, between and after the generated repo's top-level folders
(data, deploy, docs, evals, ops, scripts, src, tests) render formatter- and linter-clean.

Import order is where a name bites: a package that sorts before `evals` once rendered tests
that ruff's isort rejected (I001). Render + ruff only, so this stays in the fast suite.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import render

RUFF = str(Path(sys.executable).with_name("ruff"))
NAMES = ["acme-bot", "claims-desk", "evaluator", "zulu-desk"]


@pytest.mark.parametrize("project_name", NAMES)
def test_any_package_name_renders_lint_clean(project_name: str, tmp_path: Path) -> None:
    repo = render(tmp_path / project_name, project_name=project_name)

    for command in ([RUFF, "check", "--no-cache", "."], [RUFF, "format", "--check", "."]):
        result = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{project_name}: {' '.join(command[1:])}\n{result.stdout}"
