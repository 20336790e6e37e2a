from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import PROFILES, render


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every answer profile rendered once per session (rendering takes about a second each)."""
    return {
        name: render(tmp_path_factory.mktemp(name) / "repo", **answers)
        for name, answers in PROFILES.items()
    }
