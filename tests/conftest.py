from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import PROFILES, render
from .postgres import PostgresServer


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every answer profile rendered once per session (about a second each). Never modify these:
    tests that install or edit a repo work on a copy."""
    return {
        name: render(tmp_path_factory.mktemp(name) / "repo", **answers)
        for name, answers in PROFILES.items()
    }


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real Postgres 15 server for the whole session (Debian package `postgresql`); tests that
    use it must not leave it stopped. `.url` is a SQLAlchemy URL, `.psql(sql)` asserts rows."""
    with PostgresServer() as server:
        yield server
