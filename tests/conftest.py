from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .helpers import PROFILES, render
from .postgres import PostgresServer

# How `make test` spreads the suite over xdist workers (`--dist loadgroup`): a file's tests stay
# together, so module-scoped renders and installs are made once, except in the slowest files:
# each answer profile of test_generated.py (its own install) and each test of test_update.py
# (its own projects) is a unit of its own, so they run side by side instead of in one queue.
# The longest files go first, so no worker starts one of them when the others are nearly done.
SPLIT_BY_PROFILE = {"test_generated"}
SPLIT_BY_TEST = {"test_update"}
LONGEST_FIRST = [
    # First: on a machine without the cached wheel its one-off build runs beside other files.
    "test_real_model",
    "test_update",
    "test_generated",
    "test_production_data",
    "test_delivery",
    "test_corpus_swap",
    "test_air_gap",
    "test_api_fuzz",
    "test_e2e_observability",
]


# tryfirst: xdist's worker names each test's group from these markers in its own
# pytest_collection_modifyitems; added after it, they would group nothing.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))
    for item in items:
        group = item.path.stem
        callspec = getattr(item, "callspec", None)
        if group in SPLIT_BY_PROFILE and callspec is not None:
            group += "::" + str(callspec.params["installed"])
        elif group in SPLIT_BY_TEST:
            group += "::" + item.name
        item.add_marker(pytest.mark.xdist_group(group))


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
