from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import PROFILES, render


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every answer profile rendered once per session (about a second each). Never modify these:
    tests that install or edit a repo work on a copy."""
    return {
        name: render(tmp_path_factory.mktemp(name) / "repo", **answers)
        for name, answers in PROFILES.items()
    }
