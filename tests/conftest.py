from __future__ import annotations

from collections.abc import Callable, Iterator
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


# Figures the tests measured (benchmarks, drill times, fuzz counts), printed together at the end
# of the run. They travel as user properties of the test reports, so they survive pytest's
# output capture and reach the controller from xdist workers.
FIGURE = "figure"
_figures: list[str] = []


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Report a measured figure, e.g. `figure("[drill] rollback 3.1 s")` (the closing notes of
    issues quote them)."""

    def add(text: str) -> None:
        request.node.user_properties.append((FIGURE, text.strip()))

    return add


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _figures.extend(str(value) for name, value in report.user_properties if name == FIGURE)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _figures:
        terminalreporter.section("measured figures")
        for line in _figures:
            terminalreporter.write_line(line)
